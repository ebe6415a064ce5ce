"""The config-driven user paced by Locust's ``constant_throughput`` (PACED_RATE_PER_USER per user)."""

import os

from locust import constant_throughput

from locust_scenarios import EndpointsUser, ScenarioShape


class Endpoints(EndpointsUser):
    wait_time = constant_throughput(float(os.environ.get("PACED_RATE_PER_USER", "1")))


class Shape(ScenarioShape):
    pass
