"""Journeys of the config-driven user: flows, templates, captures, checks, data files, the check before load."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path
from typing import Any

import gevent
import pytest
from locust.env import Environment
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from locust_scenarios import EndpointsUser, ScenarioSettings, SettingsError, pacing_stats
from locust_scenarios._records.record import build_record
from locust_scenarios._settings.models import load_settings
from locust_scenarios._users.feeders import DataExhaustedError, Feeder, open_source
from locust_scenarios._users.flowfile import JourneyPlan, load_configured
from locust_scenarios._users.sharing import Allocator, DataPlan, feeders_for
from locust_scenarios._users.templating import RenderError, parse_template
from locust_scenarios._users.validation import validate_user_settings

from .conftest import REPO, base_url, clean_env, free_port, locust, master_options, worker_options
from .test_users import SRC, PlannedRate, errors, options, run

EXAMPLE = REPO / "examples" / "journeys.toml"
SHOP = """
[[data]]
name = "accounts"
file = "accounts.csv"
mode = "sequential"

[[flows]]
name = "shop"

[[flows.steps]]
method = "POST"
path = "/api/login"
json = { user = "{{ accounts.user }}", password = "{{ accounts.password }}" }
capture = { token = "json:token" }

[[flows.steps]]
path = "/api/items"
capture = { item = "json:items[0].id" }

[[flows.steps]]
path = "/api/items/{{ item }}"
name = "/api/items/[id]"
headers = { Authorization = "Bearer {{ token }}" }
checks = [{ json = "id", equals = 42 }]
"""


class Journey(EndpointsUser):
    """The config-driven user, as a locustfile would declare it."""


def write(tmp_path: Path, text: str, name: str = "shop.toml") -> Path:
    """``text`` (dedented) written to ``tmp_path/name``, with a small accounts.csv beside it."""
    (tmp_path / "accounts.csv").write_text("user,password\nada,s3cret\nbob,hunter2\n")
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def shop_target(server: HTTPServer, seen: list[dict[str, Any]]) -> None:
    """A shop on ``server``: login returns a token per user, the list an id, the item needs both."""

    def login(request: Request) -> Response:
        body = request.get_json()
        seen.append({"login": body})
        return Response(json.dumps({"token": f"tok-{body['user']}"}), content_type="application/json")

    def item(request: Request) -> Response:
        seen.append({"path": request.path, "auth": request.headers.get("Authorization")})
        return Response(json.dumps({"id": 42}), content_type="application/json")

    server.expect_request("/api/login", method="POST").respond_with_handler(login)
    server.expect_request("/api/items").respond_with_json({"items": [{"id": 42}, {"id": 7}]})
    server.expect_request("/api/items/42").respond_with_handler(item)


def test_journey_sends_captured_values_in_later_requests(httpserver: HTTPServer, tmp_path: Path) -> None:
    """Login's token goes out in the item request's header, the list's first id in its path."""
    seen: list[dict[str, Any]] = []
    shop_target(httpserver, seen)
    path = write(tmp_path, SHOP)
    environment = run(
        [Journey], base_url(httpserver), parsed_options=options("--scenario-endpoints", str(path)), until_requests=9
    )
    assert errors(environment) == {}
    logins = [entry["login"] for entry in seen if "login" in entry]
    items = [entry for entry in seen if "path" in entry]
    assert logins[:2] == [{"user": "ada", "password": "s3cret"}, {"user": "bob", "password": "hunter2"}]
    assert items
    assert {entry["auth"] for entry in items} <= {"Bearer tok-ada", "Bearer tok-bob"}
    assert environment.stats.get("/api/items/[id]", "GET").num_requests == len(items)


def test_capture_that_finds_nothing_fails_and_stops_the_iteration(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A list without items fails its request naming the capture; the item request never goes out."""
    httpserver.expect_request("/api/login", method="POST").respond_with_json({"token": "t"})
    httpserver.expect_request("/api/items").respond_with_json({"items": []})
    path = write(tmp_path, SHOP)
    environment = run(
        [Journey], base_url(httpserver), parsed_options=options("--scenario-endpoints", str(path)), until_requests=4
    )
    assert errors(environment)
    assert all("capture item (json:items[0].id) found nothing" in message for message in errors(environment))
    assert not [request for request, _ in httpserver.log if request.path.startswith("/api/items/")]


def refused(tmp_path: Path, text: str) -> str:
    """The one-line refusal of the journeys file ``text``."""
    with pytest.raises(SettingsError) as raised:
        load_configured(str(write(tmp_path, text)))
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_undefined_variable_is_refused_naming_the_step(tmp_path: Path) -> None:
    """``{{ undefined_var }}`` names the setting, the file, the flow, the step, the field and the variable."""
    message = refused(tmp_path, SHOP.replace("{{ item }}", "{{ undefined_var }}"))
    assert message.startswith("invalid setting LOCUST_SCENARIO_ENDPOINTS=")
    assert (
        "shop.toml: flow 'shop', step 3 (GET /api/items/{{ undefined_var }}): path {{ undefined_var }} is not defined"
        in message
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("{{ accounts.password }}", "{{ accounts.pin }}"),
            "json {{ accounts.pin }}: accounts.csv has no column 'pin'",
        ),
        (('file = "accounts.csv"', 'file = "missing.csv"'), "data 'accounts': no such data file"),
        (('mode = "sequential"', 'mode = "once"'), "data 'accounts': mode must be one of"),
        (
            ('name = "/api/items/[id]"', 'nme = "x"'),
            "step 3 (GET /api/items/{{ item }}): nme is not a known field; did you mean name?",
        ),
        (
            ('capture = { token = "json:token" }', 'capture = { token = "xml:token" }'),
            "step 1 (POST /api/login): capture.token: 'xml:token' must be json:",
        ),
        (
            ("{{ item }}", "{{ token }}/{{ env.JOURNEY_UNSET_VARIABLE }}"),
            "the environment variable JOURNEY_UNSET_VARIABLE is not set",
        ),
        (
            ('[[flows]]\nname = "shop"', '[[flows]]\nname = "shop"\nweight = 0'),
            "flow 'shop': weight must be greater than 0",
        ),
        (("{{ accounts.user }}", "{{ token }}"), "step 1 (POST /api/login): json {{ token }} is not defined"),
    ],
)
def test_invalid_journeys_are_refused_with_one_line(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    """Each kind of mistake is refused before load, naming where it is and what is wrong."""
    assert change[0] in SHOP
    assert expected in refused(tmp_path, SHOP.replace(*change))


def test_on_start_captures_last_and_plain_endpoints_become_flows(tmp_path: Path) -> None:
    """A later flow may read an on_start flow's capture; ``[[endpoints]]`` in the same file are one-step flows."""
    plan = load_configured(
        str(
            write(
                tmp_path,
                """
                [[endpoints]]
                path = "/health"
                weight = 2

                [[flows]]
                name = "login"
                on_start = true
                steps = [{ method = "POST", path = "/api/login", capture = { token = "json:token" } }]

                [[flows]]
                name = "me"
                steps = [{ path = "/api/me", headers = { Authorization = "Bearer {{ token }}" } }]
                """,
            )
        )
    )
    assert isinstance(plan, JourneyPlan)
    assert [flow.name for flow in plan.on_start] == ["login"]
    assert [(flow.name, flow.weight) for flow in plan.flows] == [("GET /health", 2.0), ("me", 1.0)]
    assert plan.step_names() == ["/api/login", "/health", "/api/me"]


def test_templates_escape_for_where_the_value_lands() -> None:
    """A path value is one encoded segment, a header refuses line breaks, a lone JSON value keeps its type."""
    scope = {"id": "a/b?c", "n": 5, "bad": "x\r\nSet-Cookie: y"}
    assert parse_template("/items/{{ id }}").render(scope, "path") == "/items/a%2Fb%3Fc"
    assert parse_template("{{ n }}").value(scope) == 5
    assert parse_template("n={{ n }}").value(scope) == "n=5"
    with pytest.raises(RenderError, match="line break"):
        parse_template("Bearer {{ bad }}").render(scope, "header")
    assert 1 <= int(parse_template("{{ random_int(1, 3) }}").render({})) <= 3


@pytest.mark.e2e
def test_undefined_variable_exits_2_before_any_request(httpserver: HTTPServer, tmp_path: Path) -> None:
    """``locust -f`` with a step using ``{{ undefined_var }}`` exits 2 with one line; the target sees nothing."""
    path = write(tmp_path, SHOP.replace("{{ item }}", "{{ undefined_var }}"))
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text("from locust_scenarios import EndpointsUser\n\nclass Api(EndpointsUser):\n    pass\n")
    env = {"PYTHONPATH": str(SRC), "LOCUST_SCENARIO_ENDPOINTS": str(path)}
    result = locust(
        ["-f", str(locustfile), "--headless", "-u", "2", "-t", "5s", "-H", base_url(httpserver)], env, 60, tmp_path
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if "undefined_var" in line]
    assert len(lines) == 1, result.stderr
    assert "step 3" in lines[0]
    assert httpserver.log == []


@pytest.mark.e2e
def test_each_flow_records_its_completed_journeys_as_a_trend_judged_by_thresholds(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """A flow's completed journeys are the custom trend ``journey_<flow>``: its count is the number of
    journeys that reached their last step, it is in the summary, and ``[metric=journey_shop]p95<1ms``
    (three local requests take longer) fails the run with exit 3 naming it."""
    seen: list[dict[str, Any]] = []
    shop_target(httpserver, seen)
    path = write(tmp_path, SHOP)
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text("from locust_scenarios import EndpointsUser\n\nclass Api(EndpointsUser):\n    pass\n")
    summary = tmp_path / "summary.json"
    env = {
        "PYTHONPATH": str(SRC),
        "LOCUST_SCENARIO_ENDPOINTS": str(path),
        "LOCUST_SCENARIO_THINK_TIME": "0.05",
        "LOCUST_SCENARIO_THRESHOLDS": "[metric=journey_shop]count>0,[metric=journey_shop]p95<1ms",
        "LOCUST_SCENARIO_SUMMARY": str(summary),
    }
    result = locust(
        ["-f", str(locustfile), "--headless", "-u", "2", "-r", "10", "-t", "3s", "-H", base_url(httpserver)],
        env,
        90,
        tmp_path,
    )
    assert result.returncode == 3, result.stderr[-3000:]
    assert "[metric=journey_shop]p95<1ms" in result.stderr + result.stdout
    figures = {metric["name"]: metric for metric in json.loads(summary.read_text())["custom_metrics"]}
    completed = len([entry for entry in seen if "path" in entry])
    # a journey whose last request was answered as the run stopped may not have been counted yet
    assert 0 < completed - 2 <= figures["journey_shop"]["count"] <= completed
    assert figures["journey_shop"]["unit"] == "s"


def test_json_capture_without_jmespath_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without JMESPath installed, a file with ``json:`` captures is refused at load, naming the extra."""
    monkeypatch.setitem(sys.modules, "jmespath", None)
    message = refused(tmp_path, SHOP)
    assert "capture.token: json: paths need JMESPath: pip install 'locust-scenarios[journeys]'" in message


# -- data files ---------------------------------------------------------------------------------------


def test_csv_json_and_jsonl_rows_read_alike(tmp_path: Path) -> None:
    """The three formats give the same rows; a quoted CSV field may hold a comma, a quote and a line break."""
    (tmp_path / "a.csv").write_text('user,note\nada,"hello, ""you""\nthere"\nbob,plain\n')
    (tmp_path / "a.jsonl").write_text('{"user": "ada", "note": 1}\n\n{"user": "bob", "note": 2}\n')
    (tmp_path / "a.json").write_text('[{"user": "ada", "note": 1}, {"user": "bob", "note": 2}]')
    csv_source = open_source(tmp_path / "a.csv")
    assert (csv_source.columns, csv_source.rows) == (("user", "note"), 2)
    assert csv_source.row(1) == {"user": "bob", "note": "plain"}
    assert csv_source.row(0) == {"user": "ada", "note": 'hello, "you"\nthere'}
    for name in ("a.jsonl", "a.json"):
        source = open_source(tmp_path / name)
        assert (source.columns, source.rows) == (("user", "note"), 2)
        assert [source.row(1), source.row(0)] == [{"user": "bob", "note": 2}, {"user": "ada", "note": 1}]


def test_modes_sequential_random_unique(tmp_path: Path) -> None:
    """Sequential cycles, random stays in the file, unique gives each row once then stops or recycles."""
    (tmp_path / "n.csv").write_text("n\n" + "".join(f"{i}\n" for i in range(5)))
    source = open_source(tmp_path / "n.csv")
    sequential = Feeder(source, "sequential")
    assert [sequential.next_row()["n"] for _ in range(7)] == ["0", "1", "2", "3", "4", "0", "1"]
    randomly = Feeder(source, "random")
    assert {randomly.next_row()["n"] for _ in range(50)} <= {str(i) for i in range(5)}
    stopped: list[bool] = []
    once = Feeder(source, "unique", Allocator(5, "stop_run", lambda: stopped.append(True)))
    assert [once.next_row()["n"] for _ in range(5)] == ["0", "1", "2", "3", "4"]
    with pytest.raises(DataExhaustedError):
        once.next_row()
    assert stopped == [True]
    again = Feeder(source, "unique", Allocator(5, "recycle", lambda: None))
    assert [again.next_row()["n"] for _ in range(7)] == ["0", "1", "2", "3", "4", "0", "1"]


def test_a_new_run_in_the_same_process_gives_unique_rows_out_again(tmp_path: Path) -> None:
    """A second run started in the same process (the web UI's second Start) hands out a ``unique`` file's
    rows from the first row again, each once more; within a run they stay once each."""
    (tmp_path / "n.csv").write_text("n\n0\n1\n2\n")
    environment = Environment(user_classes=[Journey])
    environment.create_local_runner()
    plan = DataPlan("accounts", open_source(tmp_path / "n.csv"), "unique", "stop_user")
    feeder = feeders_for(environment, [plan])["accounts"]
    for _ in range(2):
        environment.events.test_start.fire(environment=environment)
        assert [feeder.next_row()["n"] for _ in range(3)] == ["0", "1", "2"]
        with pytest.raises(DataExhaustedError):
            feeder.next_row()


def test_large_file_is_indexed_in_bounded_memory(tmp_path: Path) -> None:
    """A file of 300,000 rows is indexed with at most 65,536 offsets and little memory; any row reads back."""
    path = tmp_path / "big.csv"
    with path.open("w") as out:
        out.write("id,payload\n")
        for number in range(300_000):
            out.write(f"{number},{'x' * 60}\n")
    tracemalloc.start()
    try:
        source = open_source(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert source.rows == 300_000
    assert len(source._marks) <= 65_536
    assert peak < 2 * 1024 * 1024  # the file is about 20 MB
    for number in (0, 1, 65_537, 299_999, 123_457, 123_458):
        assert source.row(number)["id"] == str(number)


def test_unique_data_with_stop_run_ends_a_local_run(httpserver: HTTPServer, tmp_path: Path) -> None:
    """Three unique rows and ``stop_run``: three logins, each with its own row, then the run stops."""
    seen: list[dict[str, Any]] = []
    shop_target(httpserver, seen)
    path = write(
        tmp_path,
        SHOP.replace('mode = "sequential"', 'mode = "unique"\non_exhausted = "stop_run"'),
    )
    (tmp_path / "accounts.csv").write_text("user,password\na,1\nb,2\nc,3\n")
    started = time.monotonic()
    stopped: list[float] = []
    environment = Environment(
        user_classes=[Journey], host=base_url(httpserver), parsed_options=options("--scenario-endpoints", str(path))
    )
    environment.events.test_stop.add_listener(lambda **_: stopped.append(time.monotonic()))
    runner = environment.create_local_runner()
    runner.start(2, spawn_rate=2)
    while not stopped and time.monotonic() < started + 8:
        gevent.sleep(0.1)
    runner.quit()
    deadline = time.monotonic() + 5  # the server's thread may log the last login just after the run
    while len([entry for entry in seen if "login" in entry]) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    logins = [entry["login"]["user"] for entry in seen if "login" in entry]
    assert sorted(logins) == ["a", "b", "c"]
    assert environment.stats.get("/api/login", "POST").num_requests == 3  # iterations in flight complete
    assert stopped
    assert stopped[0] < started + 7  # the data stopped the run, not the end of the 8 s


@pytest.mark.e2e
def test_unique_rows_go_out_once_across_master_and_two_workers(httpserver: HTTPServer, tmp_path: Path) -> None:
    """10 unique rows, 6 users on 2 workers wanting far more: each row's value is sent at most once in total."""
    sent: list[str] = []

    def login(request: Request) -> Response:
        sent.append(request.get_json()["user"])
        return Response('{"token": "t"}', content_type="application/json")

    httpserver.expect_request("/api/login", method="POST").respond_with_handler(login)
    (tmp_path / "accounts.csv").write_text("user\n" + "".join(f"user{i}\n" for i in range(10)))
    (tmp_path / "journeys.toml").write_text(
        textwrap.dedent(
            """
            [[data]]
            name = "accounts"
            file = "accounts.csv"
            mode = "unique"
            on_exhausted = "stop_user"

            [[flows]]
            name = "login"
            steps = [{ method = "POST", path = "/api/login", json = { user = "{{ accounts.user }}" } }]
            """
        )
    )
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text("from locust_scenarios import EndpointsUser\n\nclass Api(EndpointsUser):\n    pass\n")
    port = free_port()
    env = clean_env({"PYTHONPATH": str(SRC), "LOCUST_SCENARIO_ENDPOINTS": str(tmp_path / "journeys.toml")})
    common = [sys.executable, "-m", "locust", "-f", str(locustfile)]
    workers = [
        subprocess.Popen(
            [*common, *worker_options(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        master = subprocess.run(
            [*common, *master_options(port), "-u", "6", "-r", "6", "-t", "4s", "-H", base_url(httpserver)],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip
    finally:
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=5)
    assert "Traceback" not in master.stderr, master.stderr[-3000:]
    assert len(sent) == len(set(sent)), sent
    assert set(sent) == {f"user{i}" for i in range(10)}


# -- the example journey ------------------------------------------------------------------------------


def test_record_lists_journey_steps_in_journey_order(httpserver: HTTPServer, tmp_path: Path) -> None:
    """The run record lists a journey's steps in the order they run (login, list, item), not by name."""
    shop_target(httpserver, [])
    path = write(tmp_path, SHOP)
    environment = run(
        [Journey], base_url(httpserver), parsed_options=options("--scenario-endpoints", str(path)), until_requests=3
    )
    names = [entry["name"] for entry in build_record(environment, {})["requests"]]
    assert names == ["/api/login", "/api/items", "/api/items/[id]"]


def test_users_doc_shows_the_example_journey() -> None:
    """docs/users.md's Journeys part shows examples/journeys.toml as it is (the file the test above runs)."""
    text = (REPO / "docs" / "users.md").read_text()
    assert f"```toml\n{EXAMPLE.read_text()}```" in text


@pytest.mark.e2e
def test_open_model_paces_whole_journeys(httpserver: HTTPServer, tmp_path: Path) -> None:
    """Under an open-model profile one iteration is one journey: the planned 20 iterations/s start 20
    logins a second, each followed by its list and item requests."""
    shop_target(httpserver, [])
    path = write(tmp_path, SHOP)
    parsed = options(
        "--scenario-endpoints", str(path), "--scenario-rate", "20", "--scenario-users", "10",
        "--scenario-spawn-rate", "100",
    )  # fmt: skip
    shape = PlannedRate()
    shape.configure(options=parsed)
    environment = Environment(
        user_classes=[Journey], host=base_url(httpserver), parsed_options=parsed, shape_class=shape
    )
    runner = environment.create_local_runner()
    runner.start_shape()
    gevent.sleep(9.5)
    runner.quit()
    logins = environment.stats.get("/api/login", "POST").num_requests
    items = environment.stats.get("/api/items/[id]", "GET").num_requests
    assert logins / (20 * 8.0) == pytest.approx(1.0, abs=0.15)  # ramp 2 s (20 iterations) + 7 s hold (140)
    assert items >= logins - 10  # every journey goes on to its item (the last ones may be cut by the end)
    assert pacing_stats(environment).iterations >= logins


@pytest.mark.parametrize(
    "path", ["token", "items[0].id", "items[-1].id", "items[5].id", "token[0]", "items.id", "deep.a.b", "items[0]"]
)
def test_plain_json_paths_answer_as_jmespath_does(path: str) -> None:
    """A plain path (names and indexes) is looked up without the interpreter, with JMESPath's answers."""
    import jmespath  # noqa: PLC0415  (the journeys extra, installed for tests)

    from locust_scenarios._users.captures import _compile_path  # noqa: PLC0415

    document = {"token": "t", "items": [{"id": 1}, {"id": 2}], "deep": {"a": {"b": [None]}}}
    assert _compile_path(path)(document) == jmespath.search(path, document)


def test_journey_steps_carry_a_traceparent_when_tracing(httpserver: HTTPServer, tmp_path: Path) -> None:
    """With ``LOCUST_SCENARIO_TRACE=1`` every step of a journey sends its own sampled ``traceparent``."""
    shop_target(httpserver, [])
    path = write(tmp_path, SHOP)
    run(
        [Journey],
        base_url(httpserver),
        parsed_options=options("--scenario-endpoints", str(path), "--scenario-trace", "1"),
        until_requests=3,
    )
    parents = [request.headers.get("traceparent") for request, _ in httpserver.log]
    assert len(parents) >= 3
    assert all(parent and parent.endswith("-01") for parent in parents)
    assert len(set(parents)) == len(parents)


def test_web_ui_form_value_is_checked_as_a_whole(tmp_path: Path) -> None:
    """A journeys file given in the web UI's form is checked like the command line's (one line, the step)."""
    path = write(tmp_path, SHOP.replace("{{ item }}", "{{ undefined_var }}"))
    environment = Environment(user_classes=[Journey], parsed_options=options())
    settings = load_settings(ScenarioSettings, options("--scenario-endpoints", str(path)), env_file=None)
    with pytest.raises(SettingsError, match=r"step 3 .*undefined_var"):
        validate_user_settings(environment, settings)
