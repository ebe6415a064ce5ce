"""The config-driven user under the selecting shape: everything comes from LOCUST_SCENARIO_* settings."""

from locust_scenarios import EndpointsUser, ScenarioShape


class Api(EndpointsUser):
    pass


class Shape(ScenarioShape):
    pass
