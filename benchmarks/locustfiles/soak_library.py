"""The library's side of the soak: the config-driven user over many names, a profile, the exporter.

Endpoints come from LOCUST_SCENARIO_ENDPOINTS, the profile from LOCUST_SCENARIO*, the exporter from
LOCUST_PROMETHEUS_*; the soak benchmark sets all of them.
"""

from locust_scenarios import EndpointsUser, ScenarioShape


class Endpoints(EndpointsUser):
    pass


class Shape(ScenarioShape):
    pass
