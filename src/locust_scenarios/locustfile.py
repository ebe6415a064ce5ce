"""The built-in locustfile: the config-driven user and the selecting shape, no code of your own.

    LOCUST_SCENARIO=smoke LOCUST_SCENARIO_ENDPOINTS=endpoints.toml locust-scenarios run --headless -H URL

``LOCUST_SCENARIO`` picks the test type, ``LOCUST_SCENARIO_ENDPOINTS`` the requests (required: a run
without it is refused with exit code 2); every other ``LOCUST_SCENARIO_*`` setting applies as usual.
"""

from locust_scenarios import EndpointsUser, ScenarioShape

__all__ = ["Endpoints", "Shape"]


class Endpoints(EndpointsUser):
    """Weighted requests from ``LOCUST_SCENARIO_ENDPOINTS``."""

    require_endpoints = True


class Shape(ScenarioShape):
    """The profile named by ``LOCUST_SCENARIO``."""
