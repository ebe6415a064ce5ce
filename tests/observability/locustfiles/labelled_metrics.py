"""Plain Locust with labelled custom metrics: each iteration requests /slow, then records its duration by
region (two fixed values) and one order by customer (a new value each time, so the label set bound refuses)."""

import itertools
import time
import uuid

from locust import FastHttpUser, constant, task

from locust_scenarios import metrics

checkout = metrics.trend("checkout", unit="s", labels=("region",))
orders = metrics.counter("orders", labels=("customer",))
regions = itertools.cycle(("eu", "us"))


class Shopper(FastHttpUser):
    wait_time = constant(0.02)

    @task
    def buy(self) -> None:
        started = time.perf_counter()
        self.client.get("/slow")
        checkout.observe(time.perf_counter() - started, region=next(regions))
        orders.inc(customer=uuid.uuid4().hex)
