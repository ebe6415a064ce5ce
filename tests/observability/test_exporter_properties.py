"""Property-based: any unicode a request name or error message can hold renders a valid scrape.

Checked with prometheus_client's own parser and with ``promtool check metrics``; both the exporter's
text rendering and ``collect()`` (which feeds the Pushgateway) are covered.
"""

from __future__ import annotations

import contextlib
import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from locust.env import Environment
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from locust_scenarios._exporter.collector import LocustCollector

from .conftest import tool

_any_code_point = st.text(alphabet=st.characters(exclude_categories=[]), min_size=1, max_size=30)
names = st.one_of(_any_code_point, _any_code_point.map(lambda text: text + "\udc80"))
"""Any code point, control characters and lone surrogates (which a Python string can hold) included."""
methods = st.sampled_from(["GET", "POST", "", "get", "X\u00e9"])


def _collector(requests: list[tuple[str, str, str]], max_names: int = 5) -> LocustCollector:
    environment = Environment(user_classes=[])
    for method, name, error in requests:
        environment.stats.log_request(method, name, 12, 100)
        # Locust itself cannot record an error message holding a lone surrogate: it never reaches us.
        with contextlib.suppress(UnicodeEncodeError):
            environment.stats.log_error(method, name, error)
    return LocustCollector(environment, max_names=max_names, run_id="r1")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(methods, names, names), min_size=1, max_size=8))
def test_any_names_and_errors_render_a_scrape_the_parser_accepts(requests: list[tuple[str, str, str]]) -> None:
    """Text rendering and collect(): both parse, request counts add up, errors stay within the cap."""
    collector = _collector(requests)
    rendered = collector.render().decode("utf-8")
    families = {family.name: family for family in text_string_to_metric_families(rendered)}
    assert sum(s.value for s in families["locust_requests"].samples) == len(requests)
    assert len(families["locust_errors"].samples) <= collector.max_names + 1
    registry = CollectorRegistry()
    registry.register(collector)
    list(text_string_to_metric_families(generate_latest(registry).decode("utf-8")))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(methods, names, names), min_size=1, max_size=8))
def test_promtool_accepts_a_scrape_of_any_names(requests: list[tuple[str, str, str]]) -> None:
    """`promtool check metrics` accepts the scrape whatever the names and messages hold."""
    body = _collector(requests).render()
    checked = subprocess.run(
        [tool("promtool"), "check", "metrics"], input=body, capture_output=True, timeout=30, check=False
    )
    assert checked.returncode == 0, checked.stderr.decode(errors="replace") + checked.stdout.decode(errors="replace")


def test_error_series_are_capped_by_combination() -> None:
    """100 names by 200 messages give at most max_names + 1 error series, not 20,000."""
    environment = Environment(user_classes=[])
    for name in range(100):
        for message in range(200):
            environment.stats.log_error("GET", f"/n{name}", f"error kind {message:x}z")
    collector = LocustCollector(environment, max_names=200, run_id="r1")
    rendered = collector.render().decode("utf-8")
    errors = [line for line in rendered.splitlines() if line.startswith("locust_errors_total{")]
    assert len(errors) == 201
    assert sum(float(line.rsplit(" ", 1)[1]) for line in errors) == 100 * 200
