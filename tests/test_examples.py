"""Every example runs as it is: ``locust -f examples/<file> --headless`` against the demo target."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from .conftest import REPO, clean_env, locust

EXAMPLES = REPO / "examples"
SRC = str(REPO / "src")

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_target() -> Iterator[str]:
    """The demo target as its own process on a free port; its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "locust_scenarios", "target", "--port", "0"],
        env=clean_env({"PYTHONPATH": SRC}),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
        if process.stdout is not None:
            process.stdout.close()


def run_example(
    name: str, url: str, env: Mapping[str, str] | None = None, args: list[str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, int]]:
    """Run one example headless (bounded) and return the process and requests per entry name."""
    result = locust(
        ["-f", str(EXAMPLES / name), "--headless", "-H", url, "--json", *(args or [])],
        {"PYTHONPATH": SRC, **(env or {})},
        timeout=120,
        cwd=REPO,
    )
    start = result.stdout.find("[")
    entries = json.loads(result.stdout[start:]) if start >= 0 else []
    return result, {entry["name"]: entry["num_requests"] for entry in entries}


SHORT = {
    "smoke": {"LOCUST_SCENARIO_USERS": "3", "LOCUST_SCENARIO_DURATION": "6s", "LOCUST_SCENARIO_RAMP_UP": "1s"},
    "load": {"LOCUST_SCENARIO_USERS": "4", "LOCUST_SCENARIO_DURATION": "4s"},
    "stress": {"LOCUST_SCENARIO_USERS": "4", "LOCUST_SCENARIO_DURATION": "4s"},
    "spike": {
        "LOCUST_SCENARIO_USERS": "6",
        "LOCUST_SCENARIO_DURATION": "6s",
        "LOCUST_SCENARIO_RAMP_UP": "1s",
        "LOCUST_SCENARIO_HOLD": "1s",
    },
    "endurance": {
        "LOCUST_SCENARIO_USERS": "3",
        "LOCUST_SCENARIO_DURATION": "4s",
        "LOCUST_SCENARIO_RAMP_UP": "1s",
        "LOCUST_SCENARIO_RAMP_DOWN": "1s",
    },
    "breakpoint": {"LOCUST_SCENARIO_USERS": "6", "LOCUST_SCENARIO_DURATION": "4s"},
}
"""Short settings per test type (also in examples/README.md)."""


@pytest.mark.parametrize("scenario", list(SHORT))
def test_scenarios_example_runs_every_test_type(demo_target: str, scenario: str) -> None:
    """examples/scenarios.py runs each of the six test types, selected by LOCUST_SCENARIO, and exits 0."""
    result, requests = run_example("scenarios.py", demo_target, {"LOCUST_SCENARIO": scenario, **SHORT[scenario]})
    assert result.returncode == 0, result.stderr[-3000:]
    assert sum(requests.values()) > 0
    assert requests["/api/items/{id}"] > 0


@pytest.mark.parametrize(
    "endpoints",
    [None, "examples/endpoints.json", '[{"path": "/api/items/1", "name": "inline"}]'],
    ids=["toml", "json", "inline"],
)
def test_config_driven_example_runs_from_each_source(demo_target: str, endpoints: str | None) -> None:
    """examples/config_driven.py runs from its TOML file, the JSON file, or inline JSON, and exits 0
    (a short think time, so that a few seconds reach every weighted endpoint)."""
    env = {**SHORT["smoke"], "LOCUST_SCENARIO": "smoke", "LOCUST_SCENARIO_THINK_TIME": "50ms"}
    if endpoints:
        env["LOCUST_SCENARIO_ENDPOINTS"] = endpoints
    result, requests = run_example("config_driven.py", demo_target, env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sum(requests.values()) > 0
    if endpoints and endpoints.startswith("["):
        assert set(requests) == {"inline"}
    else:
        assert {"/api/items/[id]", "/api/items/[missing]", "/slow", "/"} <= set(requests)


def test_rest_flow_example_logs_in_and_checks(demo_target: str) -> None:
    """examples/rest_flow.py logs in once per user, runs its checked flow, and exits 0 (a short think
    time, so that four seconds reach every task)."""
    result, requests = run_example(
        "rest_flow.py", demo_target, {"LOCUST_SCENARIO_THINK_TIME": "50ms"}, args=["-u", "3", "-r", "3", "-t", "4s"]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert requests["/api/login"] == 3
    assert requests["/api/me"] > 0
    assert requests["/api/items/{id}"] > 0


def test_system_verdict_example_judges_its_own_metrics(demo_target: str) -> None:
    """examples/system_verdict.py counts one checkout and one order per journey (three requests each,
    a journey cut by the end of the run may have counted its order only);
    its metric thresholds pass, and a checkout limit no journey meets fails the run (exit 3)."""
    short = {"LOCUST_SCENARIO_THINK_TIME": "50ms", "LOCUST_SCENARIO_TRACE": "1"}
    passing = {**short, "LOCUST_SCENARIO_THRESHOLDS": "[metric=orders]count>5,[metric=catalogue_full]rate>99%"}
    result, requests = run_example("system_verdict.py", demo_target, passing, args=["-u", "3", "-r", "3", "-t", "4s"])
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stderr.splitlines() if '"event": "locust_scenarios.summary"' in line)
    summary = json.loads(line[line.index("{") :])
    counts = {metric["name"]: metric["count"] for metric in summary["custom_metrics"]}
    # A journey stopped by -t may have placed its order and not yet timed the checkout: one per user at most.
    assert counts["checkout"] <= requests["/api/items/{id}"] <= counts["orders"] <= counts["checkout"] + 3
    assert counts["checkout"] > 0
    failing = {**short, "LOCUST_SCENARIO_THRESHOLDS": "[metric=checkout]p95<1ms"}
    result, _ = run_example("system_verdict.py", demo_target, failing, args=["-u", "2", "-r", "2", "-t", "3s"])
    assert result.returncode == 3, result.stderr[-3000:]


def test_custom_stages_example_runs_cut_short(demo_target: str) -> None:
    """examples/custom_stages.py runs its composed plan, cut short by -t, and exits 0."""
    result, requests = run_example("custom_stages.py", demo_target, args=["-t", "5s"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert requests["/api/items/{id}"] > 0


def test_open_model_example_follows_the_planned_throughput(demo_target: str) -> None:
    """examples/open_model.py runs the planned iterations (110 = 20/s over the short plan) within 15%."""
    result, requests = run_example("open_model.py", demo_target, {"LOCUST_SCENARIO_STAGES": "2s:1,4s:1,1s:0"})
    assert result.returncode == 0, result.stderr[-3000:]
    iterations = requests["/api/items/{id}"]
    assert iterations / 110 == pytest.approx(1.0, abs=0.15)
    assert requests["/api/items"] == iterations  # each iteration is two requests
    assert "open model: " in result.stderr


@pytest.mark.parametrize("populations", [None, "examples/traffic/mix.toml"])
def test_populations_example_runs_both_groups(demo_target: str, populations: str | None) -> None:
    """examples/populations.py (or the same mix from examples/traffic/mix.toml) runs browsers from
    the start and buyers from 10 s, cut by -t, and exits 0."""
    env = {"LOCUST_SCENARIO_POPULATIONS": populations} if populations else {}
    result, requests = run_example("populations.py", demo_target, env, args=["-t", "14s"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert requests["/api/items/{id}"] > 0
    # A few orders: the checkout starts at 10 s and its ramp to 5/s has only begun by 14 s.
    assert 0 < requests["order"] < requests["/api/items/{id}"] + requests["/api/items"]


def test_replay_with_poisson_arrivals_runs_from_the_example_recording(demo_target: str) -> None:
    """examples/scenarios.py replays examples/traffic/requests-per-second.csv at up to 10 it/s,
    squeezed into 8 s, with Poisson arrivals, and exits 0."""
    env = {
        "LOCUST_SCENARIO": "replay",
        "LOCUST_SCENARIO_REPLAY_SOURCE": "examples/traffic/requests-per-second.csv",
        "LOCUST_SCENARIO_DURATION": "8s",
        "LOCUST_SCENARIO_RATE": "10",
        "LOCUST_SCENARIO_USERS": "5",
        "LOCUST_SCENARIO_ARRIVALS": "poisson",
        "LOCUST_SCENARIO_SEED": "1",
    }
    result, requests = run_example("scenarios.py", demo_target, env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sum(requests.values()) > 10


def test_locust_plugins_example_runs_with_its_checks(demo_target: str) -> None:
    """examples/with_locust_plugins.py runs our profile with locust-plugins' checks and exits 0."""
    env = {"LOCUST_SCENARIO": "smoke", **SHORT["smoke"]}
    result, requests = run_example("with_locust_plugins.py", demo_target, env, ["--check-fail-ratio", "0.01"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert requests["/api/items"] > 0


def test_pytest_example_passes_and_a_failing_threshold_fails_its_test(demo_target: str) -> None:
    """examples/test_with_pytest.py: its test whose thresholds hold passes, and its test with a threshold
    that cannot pass fails, naming exit code 3 and the failing expression (the example marks it as an
    expected failure). Its tests are called here in-process, as pytest would call them."""
    spec = importlib.util.spec_from_file_location("test_with_pytest", EXAMPLES / "test_with_pytest.py")
    assert spec is not None
    assert spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    example.test_the_service_meets_its_thresholds(demo_target)
    with pytest.raises(AssertionError, match=re.escape("exit code 3, failed thresholds: ['requests>100000']")):
        example.test_a_failing_threshold_fails_the_test(demo_target)
    assert example.test_a_failing_threshold_fails_the_test.pytestmark[0].kwargs["strict"] is True


def test_both_option_sets_register_on_locusts_parser_without_clash() -> None:
    """With locust_plugins and locust_scenarios imported, Locust's parser holds both option sets, no name twice."""
    code = """
import locust_plugins, locust_scenarios
from locust.argument_parser import get_parser
parser = get_parser()
options = [o for a in parser._actions for o in a.option_strings]
dests = [a.dest for a in parser._actions]
assert len(options) == len(set(options)) and len(dests) == len(set(dests))
parsed = parser.parse_args(["--check-rps", "5", "--iterations", "3", "--scenario-users", "4", "--prometheus-port", "0"])
print(parsed.check_rps, parsed.iterations, parsed.scenario_users, parsed.prometheus_port)
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=clean_env({"PYTHONPATH": SRC}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5.0", "3", "4", "0"]


def test_help_text_of_both_option_sets_formats() -> None:
    """Locust's full help (as the web UI and config tools build it) formats with both option sets.

    ``locust -f FILE --help`` prints before any locustfile is imported, so it never lists options a
    locustfile registers; formatting the parser that holds them is what can break (a bare ``%`` in
    a help text does).
    """
    code = """
import locust_plugins, locust_scenarios
from locust.argument_parser import get_parser
text = get_parser().format_help()
for option in ("--check-rps", "--iterations", "--scenario-users", "--scenario-thresholds", "--prometheus-port"):
    assert option in text, option
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=clean_env({"PYTHONPATH": SRC}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_examples_readme_lists_every_example() -> None:
    """examples/README.md names every locustfile in examples/ with a command to run it."""
    readme = (EXAMPLES / "README.md").read_text()
    for path in sorted(Path(EXAMPLES).glob("*.py")):
        assert f"examples/{path.name}" in readme, path.name


def _doc_blocks() -> list[str]:
    """The Python code blocks of docs/users.md."""
    text = (REPO / "docs" / "users.md").read_text()
    return [block.split("```", 1)[0] for block in text.split("```python\n")[1:]]


@pytest.mark.parametrize("number", range(len(_doc_blocks())))
def test_users_doc_examples_run(demo_target: str, tmp_path: Path, number: int) -> None:
    """Each Python example in docs/users.md runs as a locustfile for a few seconds and exits 0."""
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(_doc_blocks()[number])
    short = {
        "LOCUST_SCENARIO": "smoke",
        **SHORT["smoke"],
        "LOCUST_SCENARIO_STAGES": "1s:1,3s:1",
    }
    result = locust(
        ["-f", str(locustfile), "--headless", "-H", demo_target, "-u", "2", "-r", "2", "-t", "4s", "--json"],
        {"PYTHONPATH": SRC, **short},
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    entries = json.loads(result.stdout[result.stdout.find("[") :])
    assert sum(entry["num_requests"] for entry in entries) > 0


def test_builtin_locustfile_runs_the_configured_endpoints(demo_target: str) -> None:
    """The package's own locustfile (behind ``locust-scenarios run``) runs the endpoints file and exits 0
    (a short think time, so that a few seconds reach every weighted endpoint)."""
    env = {
        "LOCUST_SCENARIO": "smoke",
        **SHORT["smoke"],
        "LOCUST_SCENARIO_ENDPOINTS": "examples/endpoints.json",
        "LOCUST_SCENARIO_THINK_TIME": "50ms",
    }
    result = locust(
        ["-f", str(REPO / "src" / "locust_scenarios" / "locustfile.py"), "--headless", "-H", demo_target, "--json"],
        {"PYTHONPATH": SRC, **env},
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    entries = json.loads(result.stdout[result.stdout.find("[") :])
    assert {entry["name"] for entry in entries} >= {"/api/items/[id]", "/api/items/[missing]"}


def test_journeys_example_runs_login_list_detail_checkout(demo_target: str) -> None:
    """examples/journeys.toml (docs/users.md's Journeys part) runs against the demo target without a failure:
    one login per user, then purchases that the target accepts only with the captured token."""
    env = {
        "LOCUST_SCENARIO": "smoke",
        **SHORT["smoke"],
        "LOCUST_SCENARIO_ENDPOINTS": "examples/journeys.toml",
        "LOCUST_SCENARIO_THINK_TIME": "100ms",
    }
    result = locust(
        ["-f", "examples/config_driven.py", "--headless", "-H", demo_target, "--json"],
        {"PYTHONPATH": SRC, **env},
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    entries = {(e["method"], e["name"]): e for e in json.loads(result.stdout[result.stdout.find("[") :])}
    assert sum(entry["num_failures"] for entry in entries.values()) == 0
    assert entries[("POST", "/api/login")]["num_requests"] == 3
    assert entries[("POST", "/api/checkout")]["num_requests"] > 0
    assert entries[("GET", "/api/items/[id]")]["num_requests"] > 0
