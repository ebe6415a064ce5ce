"""The config-driven user (endpoints from LOCUST_SCENARIO_ENDPOINTS) under the selecting shape."""

from locust_scenarios import EndpointsUser, ScenarioShape


class Endpoints(EndpointsUser):
    pass


class Shape(ScenarioShape):
    pass
