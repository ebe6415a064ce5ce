"""The config-driven user: endpoints come from a file, no code needed.

Start the demo target (``locust-scenarios target --port 8000``), then:

    LOCUST_SCENARIO=smoke LOCUST_SCENARIO_USERS=3 LOCUST_SCENARIO_DURATION=10s LOCUST_SCENARIO_RAMP_UP=1s \
        locust -f examples/config_driven.py --headless -H http://127.0.0.1:8000

The endpoints are read from ``endpoints.toml`` next to this file; ``LOCUST_SCENARIO_ENDPOINTS``
overrides them (``examples/endpoints.json``, a ``.yaml`` file, or inline JSON).
"""

from pathlib import Path

from locust_scenarios import EndpointsUser, ScenarioShape


class Api(EndpointsUser):
    endpoints = str(Path(__file__).with_name("endpoints.toml"))


class Shape(ScenarioShape):
    pass
