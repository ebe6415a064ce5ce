"""The config-driven user under the selecting shape: everything comes from LOCUST_SCENARIO_* settings."""

from locust_scenarios import ScenarioShape
from locust_scenarios.users import EndpointsUser


class Api(EndpointsUser):
    pass


class Shape(ScenarioShape):
    pass
