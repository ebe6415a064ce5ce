"""One verdict on the client, the generator and the system: custom metrics, traces and PromQL thresholds.

Each iteration is a checkout journey of three requests; its duration is a custom trend, each order a
counter, and whether the catalogue answered with items a rate. Start the demo target
(``locust-scenarios target --port 8000``), then:

    LOCUST_SCENARIO_THRESHOLDS='p95<250ms,[metric=checkout]p95<500ms,[metric=orders]count>10' \\
    LOCUST_SCENARIO_TRACE=1 locust -f examples/system_verdict.py --headless -u 5 -r 5 -t 10s \\
        -H http://127.0.0.1:8000

With a Prometheus at ``LOCUST_SCENARIO_PROMETHEUS_URL`` (``examples/prometheus.yml`` scrapes the
exporter and Prometheus itself), ``promql:`` thresholds judge the system too; see docs/thresholds.md,
"Judging the system".
"""

import time

from locust import task

from locust_scenarios import RestUser, metrics

checkout = metrics.trend("checkout", unit="s", description="A whole checkout journey: list, order, read back.")
orders = metrics.counter("orders", description="Orders placed.")
catalogue_full = metrics.rate("catalogue_full", description="Share of catalogue pages that listed items.")


class Shopper(RestUser):
    @task
    def buy(self) -> None:
        started = time.perf_counter()
        with self.call("GET", "/api/items", params={"limit": 5}) as call:
            items = call.json["items"]
        catalogue_full.add(bool(items))
        with self.call("POST", "/api/items", json={"name": "ink", "price": 4}, expect=201) as call:
            call.expect_json("id", int)
        orders.inc()
        with self.call("GET", "/api/items/{id}", id=items[0]["id"] if items else 1):
            pass
        checkout.observe(time.perf_counter() - started)
