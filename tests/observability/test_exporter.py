"""The exporter in-process: what a scrape contains, how it is served, and its cardinality bounds."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Iterator

import gevent
import pytest
from locust import User, constant, task
from locust.env import Environment
from locust.exception import CatchResponseError
from locust.stats import RequestStats
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from locust_scenarios import ScenarioSettings, SettingsError, StagesProfile
from locust_scenarios._exporter.buckets import DEFAULT_BUCKETS, parse_buckets
from locust_scenarios._exporter.collector import LocustCollector
from locust_scenarios._exporter.labels import OTHER, error_label
from locust_scenarios._exporter.serving import MetricsServer, mount
from locust_scenarios._settings.models import load_settings
from locust_scenarios._thresholds.grammar import parse
from locust_scenarios._thresholds.judging import evaluate
from locust_scenarios._trust import Monitor, Observation, ProcessObservation, verdict
from tests.conftest import free_port

from .conftest import http_get, tool

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Sleeper(User):
    """A user that does nothing but wait, so that users can run in-process without a target."""

    wait_time = constant(0.5)

    @task
    def idle(self) -> None:
        """Nothing to do."""


class Ramp(StagesProfile):
    """Four users for ten seconds, then four more seconds at two."""

    stages = "1s:4,10s:4,4s:2"


@pytest.fixture
def environment() -> Iterator[Environment]:
    """A real Locust environment with a local runner; quit afterwards."""
    env = Environment(user_classes=[Sleeper])
    env.create_local_runner()
    yield env
    assert env.runner is not None
    env.runner.quit()


def samples(text: str | bytes) -> Samples:
    """Every sample of an exposition, keyed by name and sorted labels."""
    if isinstance(text, bytes):
        text = text.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, metric: str, /, **labels: str) -> float:
    """One sample's value."""
    return found[(metric, tuple(sorted(labels.items())))]


def fill(stats: RequestStats, name: str, milliseconds: list[float], method: str = "GET") -> None:
    """Log one request per response time."""
    for ms in milliseconds:
        stats.log_request(method, name, ms, 10)


def test_counters_follow_locusts_statistics(environment: Environment) -> None:
    """Requests, failures, bytes and errors per method and name equal Locust's own counts."""
    stats = environment.stats
    fill(stats, "/a", [5, 10, 20])
    fill(stats, "/b", [30], method="POST")
    stats.log_request("GET", "/a", 7, 0)
    stats.log_error("GET", "/a", "HTTPError('500 Server Error')")
    found = samples(LocustCollector(environment).render())
    assert value(found, "locust_requests_total", method="GET", name="/a") == 4
    assert value(found, "locust_requests_total", method="POST", name="/b") == 1
    assert value(found, "locust_request_failures_total", method="GET", name="/a") == 1
    assert value(found, "locust_request_failures_total", method="POST", name="/b") == 0
    assert value(found, "locust_response_size_bytes_total", method="GET", name="/a") == 30
    assert value(found, "locust_errors_total", method="GET", name="/a", error="HTTPError('500 Server Error')") == 1


def test_histogram_buckets_count_locusts_rounded_response_times_exactly(environment: Environment) -> None:
    """Each le bucket holds the requests whose rounded time is at most the bound; sum and count match."""
    times = [0.4, 3, 4.6, 5, 9, 10, 99.4, 99.6, 104, 106, 149, 151, 999, 1049, 1051, 7000, 45000]
    fill(environment.stats, "/a", times)
    entry = environment.stats.get("/a", "GET")
    found = samples(LocustCollector(environment).render())
    for bound in DEFAULT_BUCKETS:
        expected = sum(count for ms, count in entry.response_times.items() if ms <= bound * 1000)
        le = repr(float(bound))
        assert value(found, "locust_request_duration_seconds_bucket", method="GET", name="/a", le=le) == expected
    assert value(found, "locust_request_duration_seconds_bucket", method="GET", name="/a", le="+Inf") == len(times)
    assert value(found, "locust_request_duration_seconds_count", method="GET", name="/a") == len(times)
    assert value(found, "locust_request_duration_seconds_sum", method="GET", name="/a") == pytest.approx(
        sum(times) / 1000
    )
    # Locust's rounding: 99.6 ms counts as 100 ms, 104 ms as 100 ms, 106 ms as 110 ms
    assert value(found, "locust_request_duration_seconds_bucket", method="GET", name="/a", le="0.1") == 9


def test_render_and_collect_give_the_same_samples(environment: Environment) -> None:
    """The fast text exposition and prometheus_client's rendering of collect() agree sample by sample."""
    fill(environment.stats, "/a", [1, 50, 300])
    fill(environment.stats, 'odd "name"\\with\nbreaks', [2000])
    environment.stats.log_error("GET", "/a", CatchResponseError("wrong body"))
    collector = LocustCollector(
        environment, thresholds=lambda: evaluate(parse("p95<1s,[GET /x]rps>1"), environment.stats)
    )
    registry = CollectorRegistry()
    registry.register(collector)
    fast = samples(collector.render())
    generic = samples(generate_latest(registry))
    scrape = ("locust_exporter_scrape_duration_seconds", ())
    fast.pop(scrape)
    generic.pop(scrape)
    assert fast == generic
    assert registry.get_sample_value("locust_requests_total", {"method": "GET", "name": "/a"}) == 3


def test_promtool_accepts_a_raw_scrape(environment: Environment) -> None:
    """`promtool check metrics` finds no problem in a scrape (names, units, types, help)."""
    fill(environment.stats, "/a", [1, 50, 300])
    environment.stats.log_error("GET", "/a", "boom")
    collector = LocustCollector(environment, thresholds=lambda: evaluate(parse("p95<1s"), environment.stats))
    check = subprocess.run(
        [tool("promtool"), "check", "metrics"], input=collector.render(), capture_output=True, timeout=30, check=False
    )
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    assert check.stdout.decode().strip() == ""


def test_names_beyond_the_cap_fold_into_other_and_stay_folded(environment: Environment) -> None:
    """The first max_names request names keep their label; later ones sum into name="(other)"."""
    collector = LocustCollector(environment, max_names=2)
    for name in ("/a", "/b", "/c", "/d"):
        fill(environment.stats, name, [5, 5])
    found = samples(collector.render())
    names = {dict(labels)["name"] for metric, labels in found if metric == "locust_requests_total"}
    assert names == {"/a", "/b", OTHER}
    assert value(found, "locust_requests_total", method="GET", name=OTHER) == 4
    assert value(found, "locust_request_duration_seconds_count", method="GET", name=OTHER) == 4
    fill(environment.stats, "/c", [5])
    found = samples(collector.render())
    assert value(found, "locust_requests_total", method="GET", name=OTHER) == 5


def test_error_messages_are_normalised_bounded_and_folded(environment: Environment) -> None:
    """Addresses, ids and long numbers are masked; messages past the cap fold into error="(other)"."""
    collector = LocustCollector(environment, max_names=2)
    stats = environment.stats
    fill(stats, "/a", [1] * 4)
    for port in (34567, 45678):
        stats.log_error("GET", "/a", ConnectionError(f"refused on 127.0.0.1:{port}"))
    stats.log_error("GET", "/a", "timeout")
    stats.log_error("GET", "/a", "reset")
    found = samples(collector.render())
    errors = {dict(labels)["error"]: v for (metric, labels), v in found.items() if metric == "locust_errors_total"}
    assert errors == {"ConnectionError('refused on 127.0.0.1:N')": 2, "timeout": 1, OTHER: 1}


def test_error_label_unwraps_catch_response_errors_the_same_in_both_modes() -> None:
    """A CatchResponseError object (local) and its repr (sent by workers) give one label."""
    assert error_label(CatchResponseError("Got 503")) == "Got 503"
    assert error_label("CatchResponseError('Got 503')") == "Got 503"
    assert error_label(ValueError("x")) == "ValueError('x')"
    long = error_label("E" * 500)
    assert len(long) == 120
    assert long.endswith("…")
    assert error_label("<object at 0x7f3a2b1c9d80> id 550e8400-e29b-41d4-a716-446655440000") == ("<object at 0xN> id N")


def test_unchanged_names_reuse_their_lines_and_changed_ones_update(environment: Environment) -> None:
    """A second scrape reflects new requests for one name and leaves the others as they were."""
    collector = LocustCollector(environment)
    fill(environment.stats, "/a", [5])
    fill(environment.stats, "/b", [5])
    first = samples(collector.render())
    fill(environment.stats, "/b", [700])
    second = samples(collector.render())
    assert value(second, "locust_requests_total", method="GET", name="/a") == 1
    assert value(second, "locust_requests_total", method="GET", name="/b") == 2
    assert value(second, "locust_request_duration_seconds_bucket", method="GET", name="/b", le="0.5") == 1
    assert value(second, "locust_request_duration_seconds_bucket", method="GET", name="/b", le="0.75") == 2
    same = {k: v for k, v in first.items() if dict(k[1]).get("name") == "/a"}
    assert all(second[k] == v for k, v in same.items())


def test_reset_statistics_restart_the_counters(environment: Environment) -> None:
    """After Locust resets its statistics (web UI 'reset'), counters start again from zero."""
    collector = LocustCollector(environment)
    fill(environment.stats, "/a", [5, 5, 5])
    assert value(samples(collector.render()), "locust_requests_total", method="GET", name="/a") == 3
    environment.stats.reset_all()
    fill(environment.stats, "/a", [5])
    found = samples(collector.render())
    assert value(found, "locust_requests_total", method="GET", name="/a") == 1
    assert value(found, "locust_request_duration_seconds_count", method="GET", name="/a") == 1


def test_runner_state_workers_users_and_scenario_without_a_shape(environment: Environment) -> None:
    """Idle local runner: state 'ready', all worker states zero, users zero, target zero, run id."""
    found = samples(LocustCollector(environment, run_id="run-1").render())
    assert value(found, "locust_runner_state", state="ready") == 1
    assert sum(v for (m, _), v in found.items() if m == "locust_runner_state") == 1
    assert {dict(labels)["state"] for m, labels in found if m == "locust_workers"} == {
        "ready",
        "spawning",
        "running",
        "cleanup",
        "stopping",
        "stopped",
        "missing",
    }
    assert sum(v for (m, _), v in found.items() if m == "locust_workers") == 0
    assert value(found, "locust_users", user_class="Sleeper") == 0
    assert value(found, "locust_users_target") == 0
    assert value(found, "locust_scenario_info", scenario="", stage="", run_id="run-1") == 1


def test_users_and_target_follow_a_running_profile() -> None:
    """During a profile's run: users per class, the planned target and the stage come from the plan."""
    profile = Ramp()
    profile.configure(options={})
    env = Environment(user_classes=[Sleeper], shape_class=profile)
    env.create_local_runner()
    assert env.runner is not None
    collector = LocustCollector(env, run_id="run-2")
    try:
        env.runner.start_shape()
        deadline = time.monotonic() + 10
        found: Samples = {}
        while time.monotonic() < deadline:
            gevent.sleep(0.25)
            found = samples(collector.render())
            if value(found, "locust_users_target") == 4 and value(found, "locust_users", user_class="Sleeper") == 4:
                break
        assert value(found, "locust_users", user_class="Sleeper") == 4
        assert value(found, "locust_users_target") == 4
        assert value(found, "locust_runner_state", state="running") == 1
        assert (
            value(
                found,
                "locust_scenario_info",
                scenario="stages",
                stage=profile.stage_name(profile.elapsed()),
                run_id="run-2",
            )
            == 1
        )
    finally:
        env.runner.quit()
    assert value(samples(collector.render()), "locust_users_target") == 0


def test_threshold_metrics_show_passing_value_and_limit(environment: Environment) -> None:
    """Each threshold has a passing flag and its limit; the value appears once there are samples."""
    fill(environment.stats, "/a", [5] * 10)
    thresholds = parse("p95<1s,p95<1ms,[GET /none]rps>1")
    found = samples(LocustCollector(environment, thresholds=lambda: evaluate(thresholds, environment.stats)).render())
    assert value(found, "locust_threshold_passing", threshold="p95<1s") == 1
    assert value(found, "locust_threshold_passing", threshold="p95<1ms") == 0
    assert value(found, "locust_threshold_passing", threshold="[GET /none]rps>1") == 0
    assert value(found, "locust_threshold_value", threshold="p95<1ms") == 0.005
    assert value(found, "locust_threshold_limit", threshold="p95<1ms") == 0.001
    assert ("locust_threshold_value", (("threshold", "[GET /none]rps>1"),)) not in found


def test_a_failing_threshold_provider_never_breaks_a_scrape(environment: Environment) -> None:
    """An exception while evaluating thresholds leaves them out of the scrape instead of failing it."""

    def broken() -> list[object]:
        raise RuntimeError("boom")

    found = samples(LocustCollector(environment, thresholds=broken).render())  # type: ignore[arg-type]
    assert not any(metric.startswith("locust_threshold") for metric, _ in found)
    assert value(found, "locust_runner_state", state="ready") == 1


def test_buckets_parse_on_locusts_grid() -> None:
    """Custom buckets are accepted on Locust's rounding grid and returned in seconds."""
    assert parse_buckets(None) == DEFAULT_BUCKETS
    assert parse_buckets("1ms, 99ms,110ms,1.2s,15s") == (0.001, 0.099, 0.11, 1.2, 15.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("105ms", "nearest: 100ms or 110ms"),
        ("1050ms", "nearest: 1000ms or 1100ms"),
        ("12.5s", "nearest: 12000ms or 13000ms"),
        ("0.5ms", "not on Locust's response-time grid"),
        ("10ms,5ms", "increasing order"),
        ("fast", "bucket 'fast' must be a duration"),
    ],
)
def test_buckets_off_the_grid_are_rejected_with_the_neighbours(text: str, expected: str) -> None:
    """A bound Locust's rounding cannot produce would make its bucket inexact: exit 2 with the neighbours."""
    with pytest.raises(SettingsError) as raised:
        parse_buckets(text)
    assert str(raised.value).startswith(f"invalid setting LOCUST_PROMETHEUS_BUCKETS={text!r} (--prometheus-buckets)")
    assert expected in str(raised.value)


def test_metrics_server_serves_the_exposition_on_its_own_port(environment: Environment) -> None:
    """GET /metrics answers 200 in Prometheus text format; / points there; other paths are 404."""
    fill(environment.stats, "/a", [5])
    server = MetricsServer(LocustCollector(environment), "127.0.0.1", 0)
    port = server.start()
    try:
        status, headers, body = http_get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert value(samples(body), "locust_requests_total", method="GET", name="/a") == 1
        assert http_get(f"http://127.0.0.1:{port}/")[0] == 200
        assert http_get(f"http://127.0.0.1:{port}/other")[0] == 404
    finally:
        server.stop()
    assert server.port is None


def test_metrics_are_mounted_on_the_web_ui(environment: Environment, monkeypatch: pytest.MonkeyPatch) -> None:
    """Locust's web UI answers /metrics with the same exposition."""
    monkeypatch.setattr(sys, "argv", ["locust"])  # the web UI reads Locust's options from the command line
    fill(environment.stats, "/a", [5, 6])
    port = free_port()
    web_ui = environment.create_web_ui("127.0.0.1", port)
    mount(web_ui, LocustCollector(environment))
    try:
        gevent.sleep(0.2)
        status, headers, body = http_get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert value(samples(body), "locust_requests_total", method="GET", name="/a") == 2
    finally:
        web_ui.stop()


def test_float_spelling_matches_prometheus_client() -> None:
    """The exporter spells floats as prometheus_client does (le labels must match), without importing it."""
    from prometheus_client.utils import floatToGoString  # noqa: PLC0415

    from locust_scenarios._exporter.exposition import format_float  # noqa: PLC0415

    values = [0.0, 0.005, 0.1, 1.0, 2.5, 30.0, 123456.789, 999999.0, 1e6, 1234567.5, 3.2e9, 1e16, 1e-7, -2.5]
    values += [float("inf"), float("-inf"), float("nan"), 7]
    for value in values:
        assert format_float(value) == floatToGoString(value), value


def test_quantiles_are_locusts_own_for_the_run_and_the_current_window(environment: Environment) -> None:
    """locust_request_duration_quantile_seconds equals Locust's percentiles per name and in total."""
    stats = environment.stats
    fill(stats, "/q", [float(ms) for ms in range(1, 200)])
    fill(stats, "/r", [40.0, 55.0, 230.0])
    collector = LocustCollector(environment)
    found = samples(collector.render())
    metric = "locust_request_duration_quantile_seconds"
    for quantile in ("0.5", "0.9", "0.95", "0.99"):
        entry = stats.get("/q", "GET")
        expected = entry.get_response_time_percentile(float(quantile)) / 1000
        assert value(found, metric, method="GET", name="/q", quantile=quantile, window="run") == expected
        total = stats.total.get_response_time_percentile(float(quantile)) / 1000
        assert value(found, metric, method="", name="Aggregated", quantile=quantile, window="run") == total
    assert (metric, (("method", "GET"), ("name", "/q"), ("quantile", "0.95"), ("window", "current"))) not in found
    entry = stats.get("/q", "GET")
    entry._cache_response_times(int(time.time()) - 10)  # Locust's snapshot of ten seconds ago
    fill(stats, "/q", [150.0] * 30)
    found = samples(collector.render())
    current = entry.get_current_response_time_percentile(0.5)
    assert current is not None
    assert value(found, metric, method="GET", name="/q", quantile="0.5", window="current") == current / 1000
    assert value(found, metric, method="GET", name="/q", quantile="0.5", window="run") == (
        entry.get_response_time_percentile(0.5) / 1000
    )
    registry = CollectorRegistry()
    registry.register(collector)
    assert registry.get_sample_value(
        metric, {"method": "GET", "name": "/q", "quantile": "0.5", "window": "current"}
    ) == (current / 1000)


def test_generator_figures_are_exported_when_the_plugin_supplies_them(environment: Environment) -> None:
    """Per-process CPU, users, state, heartbeat age and loop lag, pacing counters, tracking errors,
    reasons and warnings: w1's CPU is a warning, w2's late loop a reason."""
    chosen = load_settings(ScenarioSettings, {}, env_file=None)
    monitor = Monitor(chosen)
    workers = [
        ProcessObservation("w1", 0.95, 3, "running", 0.4, lag=0.001),
        ProcessObservation("w2", 0.2, 1, "missing", 4.0, lag=0.05, lag_max=0.2),
    ]
    monitor.observe(Observation(1.0, workers, 8, 4, iterations_rate_planned=10, iterations=6, late=2, dropped=3))
    collector = LocustCollector(environment)
    collector.health = lambda: verdict(monitor.health, chosen)
    found = samples(collector.render())
    assert value(found, "locust_generator_cpu_usage_ratio", process="w1") == 0.95
    assert value(found, "locust_generator_users", process="w1") == 3
    assert value(found, "locust_generator_state", process="w2", state="missing") == 1
    assert value(found, "locust_generator_heartbeat_age_seconds", process="w2") == 4.0
    assert value(found, "locust_iterations_total") == 6
    assert value(found, "locust_iterations_late_total") == 2
    assert value(found, "locust_iterations_dropped_total") == 3
    assert value(found, "locust_users_tracking_error_ratio") == 0.5
    assert value(found, "locust_iterations_tracking_error_ratio") == 0.4
    assert value(found, "locust_generator_loop_lag_seconds", process="w2") == 0.05
    assert value(found, "locust_generator_inconclusive", reason="lag") == 1
    assert value(found, "locust_generator_warning", reason="cpu") == 1
    assert value(found, "locust_generator_inconclusive", reason="workers") == 0
    registry = CollectorRegistry()
    registry.register(collector)
    assert registry.get_sample_value("locust_iterations_late_total") == 2


def test_quantiles_match_locust_on_varied_distributions(environment: Environment) -> None:
    """On many random distributions (wide spreads, ties, a single value), every exported run quantile
    equals Locust's own percentile of the same request."""
    rng = random.Random(10)
    stats = environment.stats
    names = [f"/n{index}" for index in range(30)]
    for index, name in enumerate(names):
        spread = rng.choice([1, 5, 80, 900, 20_000])
        fill(stats, name, [float(rng.randint(1, spread)) for _ in range(1 + index * 7)])
    found = samples(LocustCollector(environment).render())
    for name in names:
        entry = stats.get(name, "GET")
        for quantile in ("0.5", "0.9", "0.95", "0.99"):
            exported = value(found, "locust_request_duration_quantile_seconds", method="GET", name=name,
                             quantile=quantile, window="run")  # fmt: skip
            assert exported == entry.get_response_time_percentile(float(quantile)) / 1000, (name, quantile)


def test_a_scrape_gives_the_event_loop_back_and_renders_the_same(environment: Environment) -> None:
    """With a slice shorter than one name's work, a scrape of 300 names lets a waiting timer greenlet
    run many times before it ends (a plain ``sleep(0)`` would not let timers run); the exposition is
    the one a scrape without slices writes, and the server sends it whole in chunks."""
    for index in range(300):
        fill(environment.stats, f"/n{index}", [5, 50, 500])
        environment.stats.log_error("GET", f"/n{index}", "boom")
    ticks = []

    def tick() -> None:
        while True:
            gevent.sleep(0.0001)
            ticks.append(1)

    sliced = LocustCollector(environment, max_names=300, run_id="r", slice_seconds=1e-9)
    whole = LocustCollector(environment, max_names=300, run_id="r", slice_seconds=0)
    ticker = gevent.spawn(tick)
    try:
        gevent.sleep(0.01)
        ticks.clear()
        whole.render()
        assert ticks == []  # without slices the loop waits for the whole scrape
        body = sliced.render()
        assert len(ticks) > 100
    finally:
        ticker.kill()
    expected = whole.render()
    scrape_lines = ("locust_exporter_scrape_duration_seconds ",)
    assert [line for line in body.decode().splitlines() if not line.startswith(scrape_lines)] == [
        line for line in expected.decode().splitlines() if not line.startswith(scrape_lines)
    ]
    server = MetricsServer(sliced, host="127.0.0.1", port=0)
    port = server.start()
    try:
        status, _headers, served = http_get(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.stop()
    assert status == 200
    assert value(samples(served), "locust_requests_total", method="GET", name="/n299") == 3
    assert value(samples(served), "locust_errors_total", method="GET", name="/n7", error="boom") == 1
