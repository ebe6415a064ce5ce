"""The embedded demo target: its endpoints in-process, its CLI, and load from Locust in the same process."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from locust import FastHttpUser, constant, task
from locust.env import Environment

from locust_scenarios._cli import target as demo_target
from locust_scenarios._cli.target import DEMO_TOKEN, add_parser, serve

from .conftest import clean_env

SRC = str(__import__("pathlib").Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def target() -> Iterator[str]:
    """The demo target served in this process on a free port; its base URL."""
    server, url = serve()
    yield url
    server.stop(timeout=1)


def fetch(
    url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, dict[str, str]]:
    """``(status, parsed JSON or text, headers)`` of one request (errors included)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw, found = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, raw, found = error.code, error.read(), dict(error.headers)
    if found.get("Content-Type") == "application/json":
        return status, json.loads(raw), found
    return status, raw.decode(), found


def test_serve_binds_loopback_on_a_free_port(target: str) -> None:
    """``serve()`` listens on 127.0.0.1 on a free port and returns its base URL."""
    assert target.startswith("http://127.0.0.1:")
    assert int(target.rsplit(":", 1)[1]) > 0
    status, body, headers = fetch(target + "/")
    assert status == 200
    assert "demo target" in body
    assert headers["Content-Type"].startswith("text/html")


def test_serve_refuses_other_addresses() -> None:
    """The target is for local tests only: any non-loopback address is refused."""
    with pytest.raises(ValueError, match=r"loopback only"):
        serve(host="0.0.0.0")


def test_items_list_and_single_items(target: str) -> None:
    """``/api/items`` lists 20 items (``limit`` shortens it); ``/api/items/<id>`` is one or a 404."""
    status, body, _ = fetch(target + "/api/items")
    assert status == 200
    assert body["total"] == 20
    assert len(body["items"]) == 20
    assert fetch(target + "/api/items?limit=3")[1]["items"][-1]["id"] == 3
    assert fetch(target + "/api/items/7")[1] == {"id": 7, "name": "item 7", "price": 17.5}
    status, body, _ = fetch(target + "/api/items/99")
    assert (status, body) == (404, {"error": "no item 99"})


def test_creating_items(target: str) -> None:
    """``POST /api/items`` answers 201 with a new id; a body without a name is a 400."""
    status, first, _ = fetch(target + "/api/items", "POST", {"name": "pen", "price": 2})
    assert status == 201
    assert first["name"] == "pen"
    second = fetch(target + "/api/items", "POST", {"name": "ink"})[1]
    assert second["id"] == first["id"] + 1
    assert fetch(target + "/api/items", "POST", {"price": 1})[0] == 400


def test_login_token_opens_the_protected_page(target: str) -> None:
    """``POST /api/login`` returns the token; ``/api/me`` answers 200 with it and 401 without."""
    status, body, _ = fetch(target + "/api/login", "POST", {"username": "ada", "password": "x"})
    assert status == 200
    assert body["token"] == DEMO_TOKEN
    assert fetch(target + "/api/me")[0] == 401
    assert fetch(target + "/api/me", headers={"Authorization": f"Bearer {body['token']}"})[0] == 200
    assert fetch(target + "/api/login", "POST", {})[0] == 400


def test_slow_sleeps_a_bounded_time(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``/slow?ms=N`` sleeps N ms, capped at ``SLOW_LIMIT_MS``."""
    started = time.monotonic()
    assert fetch(target + "/slow?ms=80")[1] == {"slept_ms": 80}
    assert time.monotonic() - started >= 0.08
    monkeypatch.setattr(demo_target, "SLOW_LIMIT_MS", 50)
    assert fetch(target + "/slow?ms=100000")[1] == {"slept_ms": 50}


def test_any_status_on_request(target: str) -> None:
    """``/status/<code>`` answers that code; out-of-range codes are a 400."""
    for code in (200, 204, 418, 503):
        assert fetch(target + f"/status/{code}")[0] == code
    assert fetch(target + "/status/700")[0] == 400


def test_unknown_routes_and_methods(target: str) -> None:
    """Unknown paths are 404; a known path with the wrong method is 405 naming the allowed ones."""
    assert fetch(target + "/nope")[0] == 404
    status, body, _ = fetch(target + "/api/items/3", "DELETE")
    assert status == 405
    assert body["error"] == "DELETE is not allowed here; use GET"


def test_add_parser_registers_the_target_command() -> None:
    """``add_parser`` adds ``target`` with ``--port`` (default 8000) and a ``func`` to call."""
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    namespace = parser.parse_args(["target", "--port", "0"])
    assert namespace.port == 0
    assert callable(namespace.func)
    assert parser.parse_args(["target"]).port == 8000


def test_locust_loads_the_target_in_the_same_process(target: str) -> None:
    """A FastHttpUser in the same process as the target runs many requests without failures (gevent)."""

    class Visitor(FastHttpUser):
        wait_time = constant(0)

        @task
        def items(self) -> None:
            self.client.get("/api/items/3")

        def on_stop(self) -> None:
            self.client.client.close()  # the target keeps connections alive: close them with the user

    environment = Environment(user_classes=[Visitor], host=target)
    runner = environment.create_local_runner()
    runner.start(5, spawn_rate=5)
    gevent.sleep(1.0)
    runner.quit()
    assert environment.stats.total.num_requests > 500
    assert environment.stats.total.num_failures == 0


@pytest.mark.e2e
def test_target_command_prints_its_url_and_stops_on_sigterm() -> None:
    """``python -m locust_scenarios target`` prints its URL, serves, and exits 0 on SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "-m", "locust_scenarios", "target", "--port", "0"],
        env=clean_env({"PYTHONPATH": SRC}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert fetch(url + "/api/items/1")[0] == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


def test_checkout_needs_the_token_an_item_and_an_address(target: str) -> None:
    """``POST /api/checkout`` answers 201 with an order for a listed item and an address, with the token only."""
    auth = {"Authorization": f"Bearer {DEMO_TOKEN}"}
    status, body, _ = fetch(target + "/api/checkout", "POST", {"item": 3, "address": "1 Main St"}, auth)
    assert (status, body["item"], body["address"]) == (201, 3, "1 Main St")
    assert (
        fetch(target + "/api/checkout", "POST", {"item": 3, "address": "1 Main St"}, auth)[1]["order"]
        == body["order"] + 1
    )
    assert fetch(target + "/api/checkout", "POST", {"item": 3, "address": "x"})[0] == 401
    assert fetch(target + "/api/checkout", "POST", {"item": 99, "address": "x"}, auth)[0] == 400
    assert fetch(target + "/api/checkout", "POST", {"item": 3}, auth)[0] == 400
