"""A profile of your own: stages declared on a class, built by composing plans.

Start the demo target (``locust-scenarios target --port 8000``), then (``-t`` cuts the plan short):

    locust -f examples/custom_stages.py --headless -t 10s -H http://127.0.0.1:8000

The whole plan: a warm-up, three waves, a half-height wave, and a ramp down (about 2 minutes).
``locust-scenarios preview`` draws it.
"""

from locust import task

from locust_scenarios import Plan, RestUser, Stage, StagesProfile, repeat, scale, sequence

warm_up = Plan((Stage(10, 4, "warm-up"), Stage(10, 4, "settle")))
wave = Plan((Stage(5, 10, "rise"), Stage(10, 10, "crest"), Stage(5, 4, "fall")), start=4)
ramp_down = Plan((Stage(5, 0, "ramp-down"),), start=4)


class Waves(StagesProfile):
    stages = sequence(warm_up, repeat(wave, 3), scale(wave, 0.5), ramp_down).stages


class Reader(RestUser):
    @task
    def items(self) -> None:
        with self.call("GET", "/api/items/{id}", id=3) as call:
            call.expect_json("id", 3)
