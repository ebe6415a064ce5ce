"""Serving the metrics: ``/metrics`` on its own port, on Locust's web UI, and pushed to a Pushgateway.

``MetricsServer`` serves ``/metrics`` (and the run's result files during the linger) with gevent's
WSGI server in the Locust process; ``mount`` adds the same page to Locust's web UI; ``push`` sends the
final state to a Pushgateway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Response, request
from gevent.pywsgi import WSGIServer

from .collector import LocustCollector

__all__ = ["MetricsServer", "content_type", "mount", "push"]

logger = logging.getLogger("locust_scenarios.exporter")


class MetricsServer:
    """``/metrics`` on its own port, served by gevent's WSGI server in the Locust process."""

    def __init__(self, collector: LocustCollector, host: str = "0.0.0.0", port: int = 0) -> None:  # noqa: S104
        self.collector = collector
        self.host = host
        self.requested_port = port
        self._server: WSGIServer | None = None
        self.files: Mapping[str, Path] = {}
        """Files served at ``/results/<name>`` (the run record and report once written)."""

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """The WSGI application: the exposition at ``/metrics``, a pointer to it elsewhere."""
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            try:
                body, media = self.collector.render_for(environ.get("HTTP_ACCEPT"))
            except Exception:
                logger.exception("rendering the metrics failed")
                start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
                return [b"rendering the metrics failed, see the Locust log\n"]
            start_response("200 OK", [("Content-Type", media), ("Content-Length", str(len(body)))])
            return [body]
        if path == "/":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"locust-scenarios exporter: see /metrics\n"]
        if path.startswith("/results/") and path.removeprefix("/results/") in self.files:
            found = self.files[path.removeprefix("/results/")]
            try:
                body = found.read_bytes()
            except OSError:
                logger.exception("reading %s failed", found)
                start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
                return [b"reading the file failed, see the Locust log\n"]
            headers = [("Content-Type", content_type(found.name)), ("Content-Length", str(len(body)))]
            start_response("200 OK", headers)
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found; metrics are at /metrics\n"]

    def start(self) -> int:
        """Start serving in a greenlet; returns the bound port (useful with port 0)."""
        server = WSGIServer((self.host, self.requested_port), self.app, log=None, error_log=logger)
        server.start()
        self._server = server
        port = int(server.server_port)
        if self.host in ("0.0.0.0", "", "::"):  # noqa: S104  (the wildcard is not an address to visit)
            logger.info("Prometheus metrics at http://127.0.0.1:%d/metrics (listening on all interfaces)", port)
        else:
            logger.info("Prometheus metrics at http://%s:%d/metrics", self.host, port)
        return port

    @property
    def port(self) -> int | None:
        """The bound port while serving."""
        return int(self._server.server_port) if self._server is not None else None

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._server is not None:
            self._server.stop(timeout=1)
            self._server = None


def content_type(name: str) -> str:
    """The media type of a served result file, by its suffix."""
    if name.endswith(".html"):
        return "text/html; charset=utf-8"
    if name.endswith(".json"):
        return "application/json"
    if name.endswith(".xml"):
        return "application/xml"
    return "text/plain; charset=utf-8"


def mount(web_ui: Any, collector: LocustCollector) -> None:
    """Add ``/metrics`` to Locust's web UI (behind its login when ``--web-login`` is on)."""

    def metrics() -> Response:
        body, media = collector.render_for(request.headers.get("Accept"))
        return Response(body, mimetype=None, content_type=media)

    protected = web_ui.auth_required_if_enabled(metrics)
    web_ui.app.add_url_rule("/metrics", "locust_scenarios_metrics", protected)


def push(collector: LocustCollector, url: str, *, job: str = "locust", timeout: float = 10.0) -> None:
    """Replace the run's group on a Pushgateway with the current state (grouped by ``run_id``)."""
    from prometheus_client import CollectorRegistry, push_to_gateway  # noqa: PLC0415  (only when pushing)

    registry = CollectorRegistry()
    registry.register(collector)
    push_to_gateway(url, job=job, registry=registry, grouping_key={"run_id": collector.run_id}, timeout=timeout)
