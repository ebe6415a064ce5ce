"""An embedded HTTP target on 127.0.0.1 for demos, examples and tests (gevent's WSGI server).

A small REST-ish API with realistic shapes of response: a home page, a list and items as JSON, item
creation, a login that returns a token, a page and a checkout that need it (the journey of
docs/users.md: login, list, detail, checkout), a bounded slow endpoint and any status code on request.
Nothing is stored between requests, so memory stays flat however long a test runs.

``serve()`` starts it inside the calling process (it runs on gevent's hub, next to Locust's users);
``locust-scenarios target --port 8000`` (or ``python -m locust_scenarios target``) runs it alone until
Ctrl-C or SIGTERM. Only the host runs it: the bundle leaves it out, with the rest of the command line.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

import gevent
from gevent.pywsgi import WSGIServer

from locust_scenarios._exitcodes import ExitCode

from .arguments import port_number

__all__ = ["DEMO_TOKEN", "SLOW_LIMIT_MS", "add_parser", "app", "serve"]

HOST = "127.0.0.1"
DEMO_TOKEN = "demo-token-5f2c"  # noqa: S105 - a fixed, public token of the demo target
"""The token ``POST /api/login`` returns and ``GET /api/me`` and ``POST /api/checkout`` accept
(``Authorization: Bearer ...``)."""
SLOW_LIMIT_MS = 5000
"""``/slow?ms=N`` sleeps at most this long."""

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_ITEMS = [{"id": n, "name": f"item {n}", "price": round(2.5 * n, 2)} for n in range(1, 21)]
_HOME = b"""<!doctype html>
<html><head><title>locust-scenarios demo target</title></head>
<body><h1>locust-scenarios demo target</h1>
<p>GET /api/items, GET /api/items/&lt;id&gt;, POST /api/items, POST /api/login, GET /api/me,
POST /api/checkout, GET /slow?ms=N, GET /status/&lt;code&gt;</p></body></html>
"""

Response = tuple[int, str, bytes]
Environ = dict[str, Any]


@dataclass
class _State:
    """What one application instance keeps: only the counters of created items and orders."""

    created: Iterator[int] = field(default_factory=lambda: itertools.count(len(_ITEMS) + 1))
    orders: Iterator[int] = field(default_factory=lambda: itertools.count(1))


def _json(status: int, payload: Any) -> Response:
    return status, "application/json", json.dumps(payload).encode()


def _query(environ: Environ, key: str, default: str) -> str:
    return parse_qs(str(environ.get("QUERY_STRING", ""))).get(key, [default])[0]


def _read_json(environ: Environ) -> Any:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(min(length, 1 << 20)) if length > 0 else b""
    return json.loads(body or b"null")


def _home(_environ: Environ, _match: re.Match[str], _state: _State) -> Response:
    return 200, "text/html; charset=utf-8", _HOME


def _list_items(environ: Environ, _match: re.Match[str], _state: _State) -> Response:
    limit = _query(environ, "limit", "20")
    count = int(limit) if limit.isdigit() else 20
    return _json(200, {"items": _ITEMS[:count], "total": len(_ITEMS)})


def _create_item(environ: Environ, _match: re.Match[str], state: _State) -> Response:
    try:
        item = _read_json(environ)
    except ValueError:
        return _json(400, {"error": "body must be JSON"})
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        return _json(400, {"error": "an item needs a name"})
    return _json(201, {"id": next(state.created), "name": item["name"], "price": item.get("price", 0)})


def _get_item(_environ: Environ, match: re.Match[str], _state: _State) -> Response:
    number = int(match["id"])
    if 1 <= number <= len(_ITEMS):
        return _json(200, _ITEMS[number - 1])
    return _json(404, {"error": f"no item {number}"})


def _login(environ: Environ, _match: re.Match[str], _state: _State) -> Response:
    try:
        login = _read_json(environ)
    except ValueError:
        login = None
    if not isinstance(login, dict) or not login.get("username"):
        return _json(400, {"error": "send a username and password"})
    return _json(200, {"token": DEMO_TOKEN, "user": login["username"]})


def _me(environ: Environ, _match: re.Match[str], _state: _State) -> Response:
    if environ.get("HTTP_AUTHORIZATION") != f"Bearer {DEMO_TOKEN}":
        return _json(401, {"error": "log in first: POST /api/login"})
    return _json(200, {"user": "demo"})


def _checkout(environ: Environ, _match: re.Match[str], state: _State) -> Response:
    """An order of one listed item to an address; it needs the login's token."""
    if environ.get("HTTP_AUTHORIZATION") != f"Bearer {DEMO_TOKEN}":
        return _json(401, {"error": "log in first: POST /api/login"})
    try:
        order = _read_json(environ)
    except ValueError:
        order = None
    if not isinstance(order, dict) or not isinstance(order.get("address"), str) or not order["address"]:
        return _json(400, {"error": "send an item id and an address"})
    item = order.get("item")
    if not isinstance(item, int) or isinstance(item, bool) or not 1 <= item <= len(_ITEMS):
        return _json(400, {"error": f"no item {item!r}"})
    return _json(201, {"order": next(state.orders), "item": item, "address": order["address"]})


def _slow(environ: Environ, _match: re.Match[str], _state: _State) -> Response:
    wanted = _query(environ, "ms", "100")
    ms = min(int(wanted), SLOW_LIMIT_MS) if wanted.isdigit() else 100
    gevent.sleep(ms / 1000)
    return _json(200, {"slept_ms": ms})


def _status(_environ: Environ, match: re.Match[str], _state: _State) -> Response:
    code = int(match["code"])
    if not 200 <= code <= 599:
        return _json(400, {"error": "status must be 200-599"})
    return _json(code, {"status": code})


Handler = Callable[[Environ, "re.Match[str]", _State], Response]
_ROUTES: list[tuple[frozenset[str], re.Pattern[str], Handler]] = [
    (frozenset({"GET", "HEAD"}), re.compile(r"/"), _home),
    (frozenset({"GET"}), re.compile(r"/api/items/?"), _list_items),
    (frozenset({"POST"}), re.compile(r"/api/items/?"), _create_item),
    (frozenset({"GET"}), re.compile(r"/api/items/(?P<id>\d+)"), _get_item),
    (frozenset({"POST"}), re.compile(r"/api/login"), _login),
    (frozenset({"GET"}), re.compile(r"/api/me"), _me),
    (frozenset({"POST"}), re.compile(r"/api/checkout"), _checkout),
    (frozenset({"GET"}), re.compile(r"/slow"), _slow),
    (frozenset({"GET"}), re.compile(r"/status/(?P<code>\d{3})"), _status),
]


def _route(method: str, path: str, environ: Environ, state: _State) -> Response:
    allowed: set[str] = set()
    for methods, pattern, handler in _ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        if method in methods:
            return handler(environ, match, state)
        allowed |= methods
    if allowed:
        return _json(405, {"error": f"{method} is not allowed here; use {', '.join(sorted(allowed))}"})
    return _json(404, {"error": f"no route {method} {path}"})


def app() -> Callable[[dict[str, Any], StartResponse], list[bytes]]:
    """A fresh WSGI application of the demo target (its own counter of created items)."""
    state = _State()

    def application(environ: Environ, start_response: StartResponse) -> list[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        status, content_type, body = _route(method, str(environ.get("PATH_INFO", "/")), environ, state)
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Status"
        if status in (204, 304):  # no body allowed
            start_response(f"{status} {reason}", [])
            return []
        start_response(f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [b"" if method == "HEAD" else body]

    return application


class _Server(WSGIServer):  # type: ignore[misc]  # gevent ships no type hints
    """gevent's WSGI server with Nagle's algorithm off on each connection.

    pywsgi writes the status line and headers before the body; with Nagle on, the body then waits
    for the client's delayed ACK, about 40 ms per keep-alive request.
    """

    def handle(self, sock: Any, address: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)


def serve(port: int = 0, host: str = HOST) -> tuple[WSGIServer, str]:
    """Start the target in this process (on gevent's hub); ``(server, base_url)``. Stop with ``server.stop()``.

    ``port=0`` picks a free port. Binding anywhere but a loopback address is refused: the target is
    for local tests only.
    """
    if host not in (HOST, "localhost", "::1"):
        raise ValueError(f"the demo target binds to loopback only (127.0.0.1), not {host!r}")
    server = _Server((host, port), app(), log=None, error_log=None)
    server.start()
    bound_host, bound_port = server.address[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    return server, f"http://{shown}:{bound_port}"


def _run(namespace: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; print the base URL first (one line, flushed)."""
    try:
        server, url = serve(namespace.port)
    except OSError as error:
        sys.stderr.write(f"locust-scenarios target: cannot listen on 127.0.0.1:{namespace.port}: {error}\n")
        return ExitCode.INVALID_CONFIG
    print(url, flush=True)
    gevent.signal_handler(signal.SIGTERM, server.stop)
    gevent.signal_handler(signal.SIGINT, server.stop)
    server.serve_forever()
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``target`` subcommand on an ``argparse`` subparsers object (``func`` is set)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "target",
        help="run the embedded demo target on 127.0.0.1",
        description="Run the embedded demo HTTP target on 127.0.0.1 until Ctrl-C or SIGTERM; "
        "prints its URL. Endpoints: / /api/items /api/items/<id> POST /api/items POST /api/login "
        "/api/me POST /api/checkout /slow?ms=N /status/<code>",
    )
    parser.add_argument(
        "--port", type=port_number, default=8000, help="port to listen on (0: any free port; default 8000)"
    )
    parser.set_defaults(func=_run)
    return parser
