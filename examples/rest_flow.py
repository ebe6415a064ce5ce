"""A REST flow with the typed base: log in, then browse, read and create items with checks.

Start the demo target (``locust-scenarios target --port 8000``), then:

    locust -f examples/rest_flow.py --headless -u 5 -r 5 -t 10s -H http://127.0.0.1:8000

No profile here: Locust's own ``-u``/``-r``/``-t`` drive the run. ``LOCUST_SCENARIO_THINK_TIME=1s-2s``
adds think time; ``LOCUST_SCENARIO_AUTH_TOKEN`` would send a fixed token instead of logging in.
"""

import random

from locust import task

from locust_scenarios import RestUser


class Customer(RestUser):
    latency_budget = "250ms"  # slower requests count as failed

    def on_start(self) -> None:
        with self.call("POST", "/api/login", json={"username": "ada", "password": "secret"}) as call:
            self.authenticate(call.expect_json("token", str))

    @task(3)
    def browse(self) -> None:
        with self.call("GET", "/api/items") as call:
            ids = [item["id"] for item in call.json["items"]]
            assert ids, "the catalogue is empty"
        with self.call("GET", "/api/items/{id}", id=random.choice(ids)) as call:
            call.expect_json("name", lambda name: name.startswith("item"))

    @task(1)
    def create(self) -> None:
        with self.call("POST", "/api/items", json={"name": "ink", "price": 4}, expect=201) as call:
            call.expect_json("id", int)
            call.expect_json("name", "ink")

    @task(1)
    def profile(self) -> None:
        with self.call("GET", "/api/me") as call:  # needs the token from on_start
            call.expect_json("user", "demo")
