"""User templates: config-driven endpoints, the REST base and its checks, auth, wait times, open model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gevent
import pytest
from locust import task
from locust.argument_parser import get_empty_argument_parser
from locust.env import Environment
from locust.exception import RescheduleTask
from locust.runners import STATE_RUNNING, STATE_SPAWNING
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from locust_scenarios import (
    EndpointsUser,
    PacingStats,
    RestUser,
    SettingsError,
    Stage,
    StagesProfile,
    load_endpoints,
    open_model_pacing,
    pacing,
    pacing_stats,
    scenario_wait_time,
    think_time,
)
from locust_scenarios._settings.context import scenario_settings
from locust_scenarios._settings.options import add_options
from locust_scenarios._users.endpoints import DEFAULT_ENDPOINTS
from locust_scenarios._users.pacing import _SlotSchedule
from locust_scenarios._users.validation import validate_user_settings

from .conftest import base_url, clean_env, free_port, locust, master_options, worker_options

SRC = Path(__file__).resolve().parents[1] / "src"


def options(*args: str) -> Any:
    """Locust's parsed options with our options registered, from command-line style ``args``."""
    parser = get_empty_argument_parser(add_help=False)
    add_options(parser)
    namespace, _ = parser.parse_known_args(args=list(args))
    return namespace


def run(
    user_classes: list[type],
    host: str,
    *,
    users: int = 1,
    seconds: float = 1.0,
    parsed_options: Any = None,
    until_requests: int | None = None,
) -> Environment:
    """Run users in-process for ``seconds`` and return the environment with its stats.

    With ``until_requests`` the run lasts until that many requests completed instead, and a timed run
    lasts until its first request completed (at most 60 s, a guard against a hang), so that counts do
    not depend on how busy the machine is.
    """
    environment = Environment(user_classes=user_classes, host=host, parsed_options=parsed_options or options())
    runner = environment.create_local_runner()
    runner.start(users, spawn_rate=max(users, 1))
    deadline = time.monotonic() + 60
    if until_requests is None:
        gevent.sleep(seconds)
        # On a busy machine the first request may not have completed yet: wait for it while users run.
        until_requests = 1 if runner.state in (STATE_SPAWNING, STATE_RUNNING) else 0
    while environment.stats.total.num_requests < until_requests and time.monotonic() < deadline:
        gevent.sleep(0.05)
    runner.quit()
    return environment


def errors(environment: Environment) -> dict[str, int]:
    """Failure messages (as Locust reports them) and how often each occurred."""
    return {str(entry.error): entry.occurrences for entry in environment.stats.errors.values()}


# -- endpoint definitions -----------------------------------------------------------------------


ENDPOINTS = [
    {"method": "GET", "path": "/api/items", "weight": 3},
    {"method": "post", "path": "/api/items", "json": {"name": "x"}, "status": [200, 201], "name": "create"},
    {"path": "/api/items/7", "name": "/api/items/[id]", "headers": {"X-Trace": "1"}, "budget": "500ms"},
]

TOML = """
[defaults]
headers = { Accept = "application/json" }

[[endpoints]]
method = "GET"
path = "/api/items"
weight = 3

[[endpoints]]
method = "post"
path = "/api/items"
json = { name = "x" }
status = [200, 201]
name = "create"

[[endpoints]]
path = "/api/items/7"
name = "/api/items/[id]"
headers = { X-Trace = "1" }
budget = "500ms"
"""

YAML = """
defaults:
  headers: {Accept: application/json}
endpoints:
  - {method: GET, path: /api/items, weight: 3}
  - method: post
    path: /api/items
    json: {name: x}
    status: [200, 201]
    name: create
  - {path: /api/items/7, name: "/api/items/[id]", headers: {X-Trace: "1"}, budget: 500ms}
"""


def _with_defaults(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"defaults": {"headers": {"Accept": "application/json"}}, "endpoints": entries}


@pytest.mark.parametrize(
    ("suffix", "content"),
    [
        (".toml", TOML),
        (".json", json.dumps(_with_defaults(ENDPOINTS))),
        (".yaml", YAML),
        (".yml", YAML),
    ],
)
def test_endpoint_files_in_every_format_mean_the_same(tmp_path: Path, suffix: str, content: str) -> None:
    """TOML, JSON and YAML files describe the same endpoints, with defaults merged into each."""
    path = tmp_path / f"endpoints{suffix}"
    path.write_text(content)
    endpoints = load_endpoints(str(path))
    assert [e.method for e in endpoints] == ["GET", "POST", "GET"]
    assert [e.weight for e in endpoints] == [3, 1, 1]
    assert endpoints[1].status == (200, 201)
    assert endpoints[1].body == {"name": "x"}
    assert endpoints[2].headers == {"Accept": "application/json", "X-Trace": "1"}
    assert endpoints[2].name == "/api/items/[id]"
    assert endpoints[2].budget == pytest.approx(0.5)


def test_inline_json_list_and_table_are_endpoints() -> None:
    """Inline JSON may be a bare list of endpoints or a table with an ``endpoints`` list."""
    assert load_endpoints(json.dumps(ENDPOINTS)) == load_endpoints(json.dumps({"endpoints": ENDPOINTS}))
    assert len(load_endpoints(json.dumps(ENDPOINTS))) == 3


def test_no_endpoints_means_get_root() -> None:
    """Without a definition the config-driven user requests ``GET /`` and expects 200."""
    assert load_endpoints(None) == DEFAULT_ENDPOINTS
    assert load_endpoints("  ") == DEFAULT_ENDPOINTS
    assert DEFAULT_ENDPOINTS[0].describe() == "GET /"
    assert DEFAULT_ENDPOINTS[0].status == (200,)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('[{"path": "/a", "weight": -1}]', "endpoint 1 (GET /a): weight must be greater than 0"),
        ('[{"path": "/a"}, {"method": "FETCH", "path": "/b"}]', "endpoint 2 (FETCH /b): method must be one of"),
        ('[{"method": "GET"}]', "endpoint 1 (without a path): path is required"),
        ('[{"path": "/a", "wieght": 2}]', "endpoint 1 (GET /a): wieght is not a known field"),
        ('[{"path": "/a", "status": 999}]', "status must be an HTTP status code"),
        ('[{"path": "a"}]', "path must start with /"),
        ('[{"path": "/a", "budget": "fast"}]', "budget must be a duration"),
        ("[]", "the list of endpoints is empty"),
        ('{"endpoint": []}', "unknown top-level key 'endpoint'"),
        ("[{", "inline JSON is not valid"),
        ("missing.toml", "no such file 'missing.toml'"),
    ],
)
def test_invalid_endpoints_give_one_line_naming_the_setting(value: str, expected: str) -> None:
    """A bad definition raises SettingsError: one line naming LOCUST_SCENARIO_ENDPOINTS and the entry."""
    with pytest.raises(SettingsError) as raised:
        load_endpoints(value)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("invalid setting LOCUST_SCENARIO_ENDPOINTS=")
    assert "(--scenario-endpoints)" in message
    assert expected in message


def test_unknown_file_type_and_broken_file_are_named(tmp_path: Path) -> None:
    """An unknown extension lists the allowed ones; a broken TOML file names the file."""
    odd = tmp_path / "endpoints.ini"
    odd.write_text("x")
    with pytest.raises(SettingsError, match=r"unknown file type '\.ini': use \.toml, \.json, \.yaml or \.yml"):
        load_endpoints(str(odd))
    broken = tmp_path / "endpoints.toml"
    broken.write_text("[[endpoints]\n")
    with pytest.raises(SettingsError, match=r"endpoints\.toml is not valid TOML"):
        load_endpoints(str(broken))


def test_yaml_without_pyyaml_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading YAML without PyYAML fails with a message naming the ``yaml`` extra."""
    path = tmp_path / "endpoints.yaml"
    path.write_text(YAML)
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(SettingsError, match=r"pip install 'locust-scenarios\[yaml\]'"):
        load_endpoints(str(path))


def test_templates_import_without_optional_packages() -> None:
    """The templates import with only Locust and the runtime dependencies (no PyYAML, no locust-plugins)."""
    code = (
        "import sys; sys.modules['yaml'] = None; sys.modules['locust_plugins'] = None\n"
        "import locust_scenarios as u; print(u.EndpointsUser.abstract, u.RestUser.abstract)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True True"


# -- the config-driven user in-process ------------------------------------------------------------


def test_endpoints_user_with_nothing_configured_gets_root(httpserver: HTTPServer) -> None:
    """With no endpoints configured, EndpointsUser requests GET / and succeeds on 200."""
    httpserver.expect_request("/", method="GET").respond_with_data("home")

    class Home(EndpointsUser):
        pass

    environment = run([Home], base_url(httpserver), seconds=0.5)
    entry = environment.stats.get("/", "GET")
    assert entry.num_requests > 0
    assert entry.num_failures == 0


def test_endpoint_weights_are_respected(httpserver: HTTPServer) -> None:
    """Over many requests each endpoint's share matches its weight (1:3:6, within 5 points)."""
    for path in ("/a", "/b", "/c"):
        httpserver.expect_request(path).respond_with_data("ok")
    definition = json.dumps([{"path": "/a", "weight": 1}, {"path": "/b", "weight": 3}, {"path": "/c", "weight": 6}])

    class Weighted(EndpointsUser):
        pass

    environment = run(
        [Weighted],
        base_url(httpserver),
        users=4,
        parsed_options=options("--scenario-endpoints", definition, "--scenario-think-time", "0"),
        until_requests=600,
    )
    counts = {path: environment.stats.get(path, "GET").num_requests for path in ("/a", "/b", "/c")}
    total = sum(counts.values())
    assert total >= 600, counts
    for path, weight in (("/a", 0.1), ("/b", 0.3), ("/c", 0.6)):
        assert counts[path] / total == pytest.approx(weight, abs=0.05), counts


def test_status_mismatch_fails_with_a_clear_message(httpserver: HTTPServer) -> None:
    """An endpoint whose status differs from the expected one fails: "expected status 201, got 200"."""
    httpserver.expect_request("/created").respond_with_data("ok", status=200)
    httpserver.expect_request("/either").respond_with_data("gone", status=404)
    definition = json.dumps(
        [{"path": "/created", "status": 201}, {"path": "/either", "status": [200, 404], "name": "either"}]
    )

    class Checked(EndpointsUser):
        pass

    environment = run(
        [Checked],
        base_url(httpserver),
        seconds=0.5,
        parsed_options=options("--scenario-endpoints", definition, "--scenario-think-time", "0"),
    )
    assert environment.stats.get("either", "GET").num_failures == 0
    created = environment.stats.get("/created", "GET")
    assert created.num_requests > 0
    assert created.num_failures == created.num_requests
    assert list(errors(environment)) == ["expected status 201, got 200"]


def test_class_attribute_endpoints_rank_below_the_setting(httpserver: HTTPServer) -> None:
    """``endpoints`` on the class is used when the setting is absent; the setting overrides it."""
    httpserver.expect_request("/from-class").respond_with_data("ok")
    httpserver.expect_request("/from-setting").respond_with_data("ok")

    class Declared(EndpointsUser):
        endpoints = [{"path": "/from-class"}]  # noqa: RUF012 - a class-level definition is the point

    quiet = run([Declared], base_url(httpserver), seconds=0.3)
    assert quiet.stats.get("/from-class", "GET").num_requests > 0
    loud = run(
        [Declared],
        base_url(httpserver),
        seconds=0.3,
        parsed_options=options("--scenario-endpoints", '[{"path": "/from-setting"}]'),
    )
    assert loud.stats.get("/from-setting", "GET").num_requests > 0
    assert loud.stats.get("/from-class", "GET").num_requests == 0


def test_validate_user_settings_checks_endpoints_and_think_time() -> None:
    """``validate_user_settings`` raises SettingsError for bad endpoints or think time of the templates."""

    class Configured(EndpointsUser):
        pass

    good = Environment(user_classes=[Configured], parsed_options=options("--scenario-think-time", "1s-2s"))
    validate_user_settings(good)
    bad_endpoints = Environment(
        user_classes=[Configured], parsed_options=options("--scenario-endpoints", '[{"path": "/x", "weight": 0}]')
    )
    with pytest.raises(SettingsError, match="LOCUST_SCENARIO_ENDPOINTS"):
        validate_user_settings(bad_endpoints)
    bad_think = Environment(user_classes=[Configured], parsed_options=options("--scenario-think-time", "3s-1s"))
    with pytest.raises(SettingsError, match=r"LOCUST_SCENARIO_THINK_TIME='3s-1s' \(--scenario-think-time\)"):
        validate_user_settings(bad_think)


def test_invalid_endpoints_found_at_spawn_stop_the_run_before_any_request(httpserver: HTTPServer) -> None:
    """Without validation at init, the first user stops the run with exit code 2 and sends nothing."""

    class Broken(EndpointsUser):
        pass

    environment = run(
        [Broken],
        base_url(httpserver),
        users=3,
        seconds=0.5,
        parsed_options=options("--scenario-endpoints", '[{"path": "/x", "method": "FETCH"}]'),
    )
    assert environment.process_exit_code == 2
    assert environment.stats.total.num_requests == 0
    assert httpserver.log == []


@pytest.mark.e2e
def test_invalid_endpoints_exit_2_before_load(httpserver: HTTPServer, tmp_path: Path) -> None:
    """``locust -f ... --headless`` with bad endpoints exits 2 with one line naming the setting; no request."""
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(
        textwrap.dedent(
            """
            from locust_scenarios import EndpointsUser

            class Api(EndpointsUser):
                pass
            """
        )
    )
    env = {"PYTHONPATH": str(SRC), "LOCUST_SCENARIO_ENDPOINTS": '[{"path": "/x", "weight": -2}]'}
    result = locust(
        ["-f", str(locustfile), "--headless", "-u", "2", "-t", "5s", "-H", base_url(httpserver)], env, 60, tmp_path
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if "LOCUST_SCENARIO_ENDPOINTS" in line]
    assert len(lines) == 1, result.stderr
    assert "endpoint 1 (GET /x): weight must be greater than 0" in lines[0]
    assert httpserver.log == []


# -- the REST base --------------------------------------------------------------------------------


def test_rest_checks_fail_requests_with_their_messages(httpserver: HTTPServer) -> None:
    """expect_json, a latency budget, assert and status checks each fail the request with a clear message."""
    httpserver.expect_request("/items/3").respond_with_json({"id": 3, "tags": ["a"], "name": "three"})
    httpserver.expect_request("/broken").respond_with_data("oops", status=500)

    def slow(_request: Request) -> Response:
        time.sleep(0.06)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)

    class Checks(RestUser):
        @task
        def flow(self) -> None:
            with self.call("GET", "/items/{id}", id=3) as call:
                call.expect_json("id", 3)
                call.expect_json("tags[0]", str)
                call.expect_json("name", lambda name: name.startswith("t"))
            with self.call("GET", "/items/{id}", id=3, name="wrong id") as call:
                call.expect_json("id", 4)
            with self.call("GET", "/items/{id}", id=3, name="missing") as call:
                call.expect_json("owner.name")
            with self.call("GET", "/items/{id}", id=3, name="assert") as call:
                assert call.json["name"] == "four", "name is not four"
            with self.call("GET", "/broken") as call:
                call.expect_json("id", 3)  # the status is checked first
            with self.call("GET", "/broken", name="tolerated", expect=500):
                pass
            with self.call("GET", "/slow", budget="20ms"):
                pass
            self.stop()

    environment = run([Checks], base_url(httpserver), seconds=1.0)
    assert environment.stats.get("/items/{id}", "GET").num_failures == 0
    assert environment.stats.get("tolerated", "GET").num_failures == 0
    assert errors(environment) == {
        "JSON id: expected 4, got 3": 1,
        "JSON owner.name: missing": 1,
        "assertion failed: name is not four": 1,
        "expected a 2xx status, got 500": 1,
        "slower than the 20ms latency budget": 1,
    }


def test_errors_in_a_call_block_report_the_request_once_and_keep_their_meaning(httpserver: HTTPServer) -> None:
    """Leaving a call block by Locust's control flow reports the request by its checks and still steers
    the user; any other error fails the request with its message and propagates; each request is
    reported exactly once."""
    httpserver.expect_request("/ok").respond_with_data("ok")
    httpserver.expect_request("/broken").respond_with_data("oops", status=500)

    class Steered(RestUser):
        @task
        def flow(self) -> None:
            with self.call("GET", "/ok", name="rescheduled"):
                self.reschedule_count = getattr(self, "reschedule_count", 0) + 1
                if self.reschedule_count == 1:
                    raise RescheduleTask  # the task starts again at once
            with self.call("GET", "/broken", name="rescheduled-broken"):
                if self.reschedule_count == 2:
                    raise RescheduleTask
            with self.call("GET", "/ok", name="raises"):
                raise ValueError("boom")

    environment = Environment(
        user_classes=[Steered], host=base_url(httpserver), parsed_options=options("--scenario-think-time", "0")
    )
    reported: list[str] = []
    environment.events.request.add_listener(lambda name, **_kwargs: reported.append(name))
    runner = environment.create_local_runner()
    runner.start(1, spawn_rate=1)
    gevent.sleep(0.5)
    runner.quit()
    rescheduled = environment.stats.get("rescheduled", "GET")
    assert rescheduled.num_requests >= 2
    assert rescheduled.num_failures == 0
    assert environment.stats.get("rescheduled-broken", "GET").num_failures >= 1  # checks still judge it
    raises = environment.stats.get("raises", "GET")
    assert raises.num_requests >= 1
    assert raises.num_failures == raises.num_requests
    assert "ValueError: boom" in errors(environment)
    assert any("boom" in str(error["msg"]) for error in runner.exceptions.values())  # it propagated
    assert len(reported) == environment.stats.total.num_requests  # one report per request


def test_endpoints_follow_the_settings_of_each_run(httpserver: HTTPServer) -> None:
    """Endpoints and headers are resolved once per run, from the settings the run started with: a new
    run with other options (a web UI form, the options a master sends its workers) requests the new
    endpoints."""
    httpserver.expect_request("/first").respond_with_data("ok")
    httpserver.expect_request("/second", headers={"X-Run": "2"}).respond_with_data("ok")

    class Configured(EndpointsUser):
        pass

    first = options("--scenario-endpoints", '[{"path": "/first"}]')
    environment = Environment(user_classes=[Configured], host=base_url(httpserver), parsed_options=first)
    sent: list[tuple[str, bool]] = []
    environment.events.request.add_listener(
        lambda name, exception=None, **_kwargs: sent.append((name, exception is None))
    )
    runner = environment.create_local_runner()
    runner.start(2, spawn_rate=2)
    gevent.sleep(0.4)
    runner.stop()
    first_run, sent[:] = list(sent), []
    environment.parsed_options = options("--scenario-endpoints", '[{"path": "/second", "headers": {"X-Run": "2"}}]')
    runner.start(2, spawn_rate=2)
    gevent.sleep(0.4)
    runner.quit()
    assert first_run
    assert set(first_run) == {("/first", True)}
    assert sent
    assert set(sent) == {("/second", True)}  # the run's header was sent too


def test_auth_header_comes_from_the_secret_setting(httpserver: HTTPServer) -> None:
    """The token setting is sent as ``Authorization: Bearer <token>``; header and scheme are settings too."""
    httpserver.expect_request("/bearer", headers={"Authorization": "Bearer s3cret"}).respond_with_data("ok")
    httpserver.expect_request("/key", headers={"X-Api-Key": "Token s3cret"}).respond_with_data("ok")
    httpserver.expect_request("/login-token", headers={"Authorization": "Bearer fresh"}).respond_with_data("ok")

    class Authed(RestUser):
        @task
        def flow(self) -> None:
            with self.call("GET", self.path):
                pass
            self.authenticate("fresh")
            with self.call("GET", "/login-token" if self.path == "/bearer" else self.path):
                pass
            self.stop()

        path = "/bearer"

    first = run([Authed], base_url(httpserver), seconds=0.5, parsed_options=options("--scenario-auth-token", "s3cret"))
    assert first.stats.total.num_requests == 2
    assert first.stats.total.num_failures == 0

    class KeyAuthed(Authed):
        path = "/key"

    second = run(
        [KeyAuthed],
        base_url(httpserver),
        seconds=0.5,
        parsed_options=options(
            "--scenario-auth-token", "s3cret", "--scenario-auth-header", "X-Api-Key", "--scenario-auth-scheme", "Token"
        ),
    )
    assert second.stats.get("/key", "GET").num_requests == 2
    assert second.stats.get("/key", "GET").num_failures == 1  # after authenticate(), the new token is sent


def test_auth_scheme_none_sends_the_bare_token() -> None:
    """With ``auth_scheme`` 'none' the header carries the token alone; without a token nothing is sent."""
    token = "t0k"  # noqa: S105 - a made-up token for the test
    given = ("--scenario-auth-token", token, "--scenario-auth-header", "X-Api-Key", "--scenario-auth-scheme", "none")
    environment = Environment(user_classes=[], parsed_options=options(*given))
    user = SimpleNamespace(environment=environment, _token=None)
    assert RestUser.auth_headers(user) == {"X-Api-Key": "t0k"}  # type: ignore[arg-type]
    environment.parsed_options = options()
    assert RestUser.auth_headers(user) == {}  # type: ignore[arg-type]


def test_auth_token_is_not_a_web_ui_option() -> None:
    """The token option is registered but excluded from the web UI's option list (and never shown)."""
    parser = get_empty_argument_parser(add_help=False)
    add_options(parser)
    assert "scenario_auth_token" not in parser.args_included_in_web_ui
    assert "scenario_auth_header" in parser.args_included_in_web_ui
    settings = scenario_settings(Environment(parsed_options=options("--scenario-auth-token", "s3cret")))
    assert "s3cret" not in repr(settings)


def test_path_placeholders_are_quoted_and_name_the_request(httpserver: HTTPServer) -> None:
    """``/items/{id}`` with ``id="a b"`` requests ``/items/a%20b`` and is reported as ``/items/{id}``."""
    httpserver.expect_request("/items/a b").respond_with_data("ok")
    httpserver.expect_request("/search", query_string="q=x+y").respond_with_data("ok")

    class Named(RestUser):
        @task
        def flow(self) -> None:
            with self.call("GET", "/items/{id}", id="a b"):
                pass
            with self.call("GET", "/search", params={"q": "x y"}):
                pass
            self.stop()

    environment = run([Named], base_url(httpserver), until_requests=2)
    assert environment.stats.get("/items/{id}", "GET").num_requests == 1
    assert environment.stats.get("/search", "GET").num_requests == 1
    assert environment.stats.total.num_failures == 0


# -- wait times -----------------------------------------------------------------------------------


def fake_user(parsed: Any = None, shape: Any = None) -> Any:
    """Enough of a user for a wait-time function: an environment with options and a shape."""
    return SimpleNamespace(environment=Environment(parsed_options=parsed or options(), shape_class=shape))


def test_think_time_constant_and_range() -> None:
    """``1s`` waits one second; ``500ms-2s`` waits uniformly within the range; nothing set waits the
    default think time of one second, and ``0`` waits nothing."""
    user = fake_user()
    assert think_time("1s")(user) == 1.0
    waits = [think_time("500ms-2s")(user) for _ in range(200)]
    assert 0.5 <= min(waits) < 0.8
    assert 1.7 < max(waits) <= 2.0
    assert think_time()(user) == 1.0
    assert think_time()(fake_user(options("--scenario-think-time", "0"))) == 0.0
    assert think_time()(fake_user(options("--scenario-think-time", "2s-3s"))) >= 2.0


def test_pacing_starts_iterations_at_fixed_intervals() -> None:
    """Constant pacing waits the rest of the interval, and nothing after an iteration longer than it."""
    user = fake_user()
    paced = pacing("200ms")
    first = paced(user)
    assert first == pytest.approx(0.0, abs=0.01)  # no iteration before: start now
    assert paced(user) == pytest.approx(0.2, abs=0.01)  # asked again at once: the whole interval
    user._scenario_iteration_start = time.monotonic() - 0.5  # an iteration that took 0.5 s
    assert paced(user) == 0.0


def test_default_wait_precedence_pacing_then_think_time() -> None:
    """The templates' default wait uses pacing when set, else think time (one second unless set)."""
    both = fake_user(options("--scenario-pacing", "10s", "--scenario-think-time", "3s"))
    wait = scenario_wait_time()
    wait(both)
    assert wait(both) == pytest.approx(10.0, abs=0.05)
    assert wait(fake_user(options("--scenario-think-time", "3s"))) == 3.0
    assert wait(fake_user()) == 1.0
    assert wait(fake_user(options("--scenario-think-time", "0"))) == 0.0


class ConstantRate:
    """A stand-in open-model profile: ``level(t)`` iterations/s and a settable clock."""

    open_model = True

    def __init__(self, level: Any, users: int = 10) -> None:
        self.level, self.now = level, 0.0
        self.settings = SimpleNamespace(users=users)

    def planned_level(self, t: float) -> float:
        return float(self.level(t))

    def elapsed(self) -> float:
        return self.now


def test_slot_schedule_spreads_slots_by_the_planned_rate() -> None:
    """At 10 iterations/s, successive claims get slots 0.1 s apart, wherever the claimers are."""
    schedule = _SlotSchedule(ConstantRate(lambda t: 10), max_backlog=1.0, late_after=0.1)
    slots = [schedule.claim(0.0, 1.0) for _ in range(5)]
    assert slots == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_slot_schedule_follows_a_ramp() -> None:
    """On a ramp 0→20 iterations/s over 10 s, slots in [0, 10] number about the integral (100)."""
    schedule = _SlotSchedule(ConstantRate(lambda t: 2 * t), max_backlog=1.0, late_after=0.1)
    slots = []
    for _ in range(1000):
        slot = schedule.claim(0.0, 1.0)
        if slot is None or slot > 10:
            break
        slots.append(slot)
    assert len(slots) == pytest.approx(100, abs=2)
    first_half = sum(1 for s in slots if s < 5)
    assert first_half == pytest.approx(25, abs=2)  # a quarter of the area lies in the first half


def test_slot_schedule_plans_nothing_past_the_plans_end() -> None:
    """A profile's level stays at its last value past its plan's end, and Locust stops the users only
    at its next tick: the schedule hands out the plan's 10/s x 5.1 s = 51 slots and then none."""
    profile = ConstantRate(lambda t: 10)
    profile.plan = SimpleNamespace(duration=5.1)  # type: ignore[attr-defined]
    schedule = _SlotSchedule(profile, max_backlog=1.0, late_after=0.1)
    slots = []
    for _ in range(1000):
        slot = schedule.claim(0.0, 1.0)
        if slot is None:
            break
        slots.append(slot)
    assert len(slots) == 51
    assert max(slots) < 5.1


def test_slot_schedule_bounds_catch_up_after_a_stall() -> None:
    """After a 5 s stall at 10/s, at most 1 s of slots (10) start at once, late; the rest are dropped."""
    schedule = _SlotSchedule(ConstantRate(lambda t: 10), max_backlog=1.0, late_after=0.1)
    assert schedule.claim(0.0, 1.0) == 0.0
    immediate = 0
    for _ in range(100):
        slot = schedule.claim(5.0, 1.0)
        assert slot is not None
        if slot > 5.0:
            break
        immediate += 1
    assert immediate == pytest.approx(10, abs=1)
    assert schedule.dropped == pytest.approx(40, abs=1)
    assert schedule.late == pytest.approx(9, abs=1)


def test_slot_schedule_waits_out_zero_rate_and_takes_a_worker_share() -> None:
    """A zero planned rate gives no slot; a worker with half the pool paces at half the rate."""
    idle = _SlotSchedule(ConstantRate(lambda t: 0), max_backlog=1.0, late_after=0.1)
    assert idle.claim(0.0, 1.0) is None
    shared = _SlotSchedule(ConstantRate(lambda t: 10), max_backlog=1.0, late_after=0.1)
    assert [shared.claim(0.0, 0.5) for _ in range(3)] == pytest.approx([0.0, 0.2, 0.4])


def test_open_model_pacing_waits_nothing_without_an_open_model_profile() -> None:
    """Outside an open-model profile, open-model pacing does not wait, and reports no iterations."""
    user = fake_user()
    assert open_model_pacing()(user) == 0.0
    assert pacing_stats(user.environment) == PacingStats()


class PlannedRate(StagesProfile):
    """Open model: ramp to the rate in 2 s, hold it for 7 s."""

    stages = [Stage(2, 1), Stage(7, 1)]  # noqa: RUF012 - the profile's documented way to declare stages


@pytest.mark.e2e
def test_open_model_pacing_achieves_the_planned_rate(httpserver: HTTPServer) -> None:
    """With an open-model profile, the whole test runs the planned iterations/s (within 10%)."""

    def slowish(_request: Request) -> Response:
        time.sleep(0.005)
        return Response("ok")

    httpserver.expect_request("/").respond_with_handler(slowish)
    starts: list[float] = []

    class Paced(EndpointsUser):
        pass

    parsed = options("--scenario-rate", "40", "--scenario-users", "20", "--scenario-spawn-rate", "100")
    shape = PlannedRate()
    shape.configure(options=parsed)
    environment = Environment(user_classes=[Paced], host=base_url(httpserver), parsed_options=parsed, shape_class=shape)
    environment.events.request.add_listener(lambda **_kw: starts.append(shape.elapsed()))
    runner = environment.create_local_runner()
    runner.start_shape()
    gevent.sleep(9.5)
    runner.quit()

    hold = [t for t in starts if 3.0 <= t < 9.0]
    ramp = [t for t in starts if 0.0 <= t < 2.0]
    assert len(hold) / (40 * 6.0) == pytest.approx(1.0, abs=0.1)
    assert len(ramp) / 40.0 == pytest.approx(1.0, abs=0.25)  # the ramp's area: 2 s * 40/s / 2
    stats = pacing_stats(environment)
    assert stats.iterations >= len(hold)
    assert stats.late <= 0.05 * stats.iterations


@pytest.mark.e2e
def test_open_model_pacing_is_shared_by_workers(httpserver: HTTPServer, tmp_path: Path) -> None:
    """Master + 2 workers run the planned iterations/s of the whole test (each its share), within 10%."""
    httpserver.expect_request("/").respond_with_data("ok")
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(
        textwrap.dedent(
            """
            from locust_scenarios import Stage, StagesProfile
            from locust_scenarios import EndpointsUser

            class Throughput(StagesProfile):
                stages = [Stage(0, 1), Stage(8, 1)]
                rate = 20
                users = 10

            class Api(EndpointsUser):
                pass
            """
        )
    )
    port = free_port()
    env = clean_env({"PYTHONPATH": str(SRC), "LOCUST_SCENARIO_SPAWN_RATE": "100"})
    common = [sys.executable, "-m", "locust", "-f", str(locustfile)]
    master_args = master_options(port)
    workers = [
        subprocess.Popen(
            [*common, *worker_options(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        master = subprocess.run(
            [*common, *master_args, "-H", base_url(httpserver), "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    finally:
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=5)
    assert master.returncode == 0, master.stderr[-3000:]
    entries = json.loads(master.stdout[master.stdout.find("[") :])
    iterations = sum(entry["num_requests"] for entry in entries)
    assert iterations / 160 == pytest.approx(1.0, abs=0.1)


def test_misspelt_endpoint_key_is_named_with_a_suggestion() -> None:
    """A key typo (``pth``) is reported as the unknown field with the closest known one, not as a
    missing path."""
    with pytest.raises(SettingsError, match=r"pth is not a known field; did you mean path\?"):
        load_endpoints('[{"pth": "/x"}]')
