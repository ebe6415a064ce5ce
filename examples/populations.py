"""Populations: browsers and buyers in one run, each group following its own profile and start.

Start the demo target (``locust-scenarios target --port 8000``), then a short run cut by ``-t``:

    locust -f examples/populations.py --headless -t 20s -H http://127.0.0.1:8000

Browsers are a closed model (each waits for its page, then thinks); orders arrive at 5 per second
from 10 s on, whatever the site's latency (an open model: ``rate``). The same mix without code is
``LOCUST_SCENARIO_POPULATIONS=examples/traffic/mix.toml``; ``locust-scenarios preview -f
examples/populations.py`` shows each population and their sum.
"""

from locust import task

from locust_scenarios import Population, RestUser, ScenarioShape


class Browser(RestUser):
    """Looks at the catalogue and at items, thinking a second in between."""

    @task(3)
    def browse(self) -> None:
        with self.call("GET", "/api/items", params={"limit": 10}) as call:
            call.expect_json("items[0].id", int)

    @task
    def item(self) -> None:
        with self.call("GET", "/api/items/{id}", id=3) as call:
            call.expect_json("id", 3)


class Buyer(RestUser):
    """Places an order: its iterations follow the population's planned rate."""

    @task
    def order(self) -> None:
        with self.call("POST", "/api/items", name="order", json={"name": "order"}, expect=201):
            pass


class Shape(ScenarioShape):
    populations = (
        Population(Browser, profile="load", users=20, duration="10m"),
        Population(Buyer, profile="stages", stages="30s:5,8m:5,30s:0", rate=5, users=5, start="10s", name="checkout"),
    )
