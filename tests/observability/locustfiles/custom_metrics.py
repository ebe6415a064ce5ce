"""Plain Locust with custom metrics: each iteration requests /slow, then records one of each metric."""

import time

from locust import FastHttpUser, constant, task

from locust_scenarios import metrics

checkout = metrics.trend("checkout", unit="s")
orders = metrics.counter("orders")
cache_hit = metrics.rate("cache_hit")
queue = metrics.gauge("queue_depth")


class Shopper(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def buy(self) -> None:
        started = time.perf_counter()
        self.client.get("/slow")
        # No pause between the request's statistics and these: both travel in the same worker report.
        checkout.observe(time.perf_counter() - started)
        orders.inc(2)
        cache_hit.add(orders.name == "orders")
        queue.set(17)
