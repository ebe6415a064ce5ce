"""W3C trace context from the user templates, and trace-id exemplars on the latency histogram."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import base_url, free_port

from .conftest import LOCUSTFILES, LocustRun, Prometheus, http_get, wait_for

pytestmark = pytest.mark.e2e

StartLocust = Callable[..., LocustRun]
StartPrometheus = Callable[..., Prometheus]
TRACED = str(LOCUSTFILES / "traced.py")
TRACED_OTEL = str(LOCUSTFILES / "traced_otel.py")
TRACEPARENT = re.compile(r"^00-(?P<trace>[0-9a-f]{32})-(?P<span>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})$")
OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


@pytest.fixture
def recording_target(httpserver: HTTPServer) -> Iterator[tuple[HTTPServer, list[str | None]]]:
    """/ answers 200 and /fail 500; every request's ``traceparent`` header (or ``None``) is recorded."""
    seen: list[str | None] = []

    def answer(status: int) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            seen.append(request.headers.get("traceparent"))
            return Response("ok" if status == 200 else "no", status=status)

        return handler

    httpserver.expect_request("/").respond_with_handler(answer(200))
    httpserver.expect_request("/fail").respond_with_handler(answer(500))
    yield httpserver, seen
    httpserver.clear()


def scrape(port: int, accept: str | None = None) -> tuple[str, str]:
    """The exporter's /metrics body and content type, asking for ``accept``."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode(), response.headers["Content-Type"]


def test_every_request_carries_a_traceparent_and_buckets_carry_trace_id_exemplars(
    recording_target: tuple[HTTPServer, list[str | None]], start_locust: StartLocust, prometheus: StartPrometheus
) -> None:
    """TRACE=1: each request has a valid traceparent with its own trace id; /metrics as OpenMetrics (and
    only then) has trace_id exemplars on latency buckets, parsed by prometheus_client's OpenMetrics
    parser and stored by a real Prometheus with exemplar storage; failed requests log their trace id."""
    target, seen = recording_target
    metrics_port = free_port()
    server = prometheus([f"127.0.0.1:{metrics_port}"], flags=("--enable-feature=exemplar-storage",))
    run = start_locust(
        ["-f", TRACED, "--headless", "-u", "3", "-r", "10", "-t", "6s", "-H", base_url(target),
         "--prometheus-port", str(metrics_port), "--prometheus-host", "127.0.0.1", "--prometheus-linger", "3s"],
        {"LOCUST_SCENARIO_TRACE": "1", "LOCUST_SCENARIO_THINK_TIME": "50ms"},
    )  # fmt: skip

    def exemplary() -> str | None:
        text, media = scrape(metrics_port, OPENMETRICS)
        return text if media.startswith("application/openmetrics-text") and 'trace_id="' in text else None

    text = wait_for(exemplary, 30, what="exemplars in the OpenMetrics exposition")
    assert text.endswith("# EOF\n")
    families = {family.name: family for family in text_string_to_metric_families(text)}
    buckets = [s for s in families["locust_request_duration_seconds"].samples if s.name.endswith("_bucket")]
    exemplars = [s.exemplar for s in buckets if s.exemplar is not None]
    assert exemplars
    for exemplar in exemplars:
        assert re.fullmatch(r"[0-9a-f]{32}", exemplar.labels["trace_id"])
    plain, media = scrape(metrics_port)
    assert media.startswith("text/plain")
    assert "trace_id" not in plain

    stored = wait_for(lambda: _exemplars(server), 30, what="Prometheus to store exemplars")
    assert all(re.fullmatch(r"[0-9a-f]{32}", e["labels"]["trace_id"]) for e in stored)

    assert run.finish(60) == 1, run.output()[-3000:]  # /fail answers 500: Locust's own rule
    assert len(seen) > 20
    parsed = [TRACEPARENT.match(header or "") for header in seen]
    assert all(parsed), [header for header, match in zip(seen, parsed, strict=True) if not match][:3]
    trace_ids = [match.group("trace") for match in parsed if match]
    assert len(set(trace_ids)) == len(trace_ids)
    assert all(match.group("flags") == "01" for match in parsed if match)
    logged = re.findall(r"failed GET /fail \(trace_id ([0-9a-f]{32})\)", run.output())
    assert logged
    assert set(logged) <= set(trace_ids)


def _exemplars(server: Prometheus) -> list[dict[str, object]]:
    """The exemplars Prometheus stored for the latency buckets over the last minute."""
    now = time.time()
    query = urllib.parse.urlencode(
        {"query": "locust_request_duration_seconds_bucket", "start": f"{now - 60:.3f}", "end": f"{now + 5:.3f}"}
    )
    status, _, body = http_get(f"{server.url}/api/v1/query_exemplars?{query}")
    if status != 200:
        return []
    return [e for series in json.loads(body)["data"] for e in series["exemplars"]]


def test_without_tracing_no_request_carries_a_traceparent(
    recording_target: tuple[HTTPServer, list[str | None]], start_locust: StartLocust
) -> None:
    """TRACE unset (0): the templates send no traceparent, and /metrics stays the text format."""
    target, seen = recording_target
    run = start_locust(
        ["-f", TRACED, "--headless", "-u", "2", "-r", "10", "-t", "3s", "-H", base_url(target)],
        {"LOCUST_SCENARIO_THINK_TIME": "50ms"},
    )
    assert run.finish(60) == 1, run.output()[-3000:]
    assert seen
    assert all(header is None for header in seen)


def test_with_an_opentelemetry_sdk_each_sampled_request_is_a_client_span_of_the_trace_sent(
    recording_target: tuple[HTTPServer, list[str | None]], start_locust: StartLocust, tmp_path: Path
) -> None:
    """With opentelemetry-api and an SDK configured in the locustfile, TRACE=1: every traceparent sent
    carries the trace id and span id of a client span the SDK recorded (one span per request, distinct
    traces); /fail's spans have status ERROR and code 500, /'s are unset with code 200; a request the end
    of the run cuts off still ends its span, as an error."""
    target, seen = recording_target
    spans_file = tmp_path / "spans.jsonl"
    run = start_locust(
        ["-f", TRACED_OTEL, "--headless", "-u", "2", "-r", "10", "-t", "4s", "-H", base_url(target)],
        {"LOCUST_SCENARIO_TRACE": "1", "LOCUST_SCENARIO_THINK_TIME": "50ms", "SPANS_FILE": str(spans_file)},
    )  # fmt: skip
    assert run.finish(60) == 1, run.output()[-3000:]  # /fail answers 500: Locust's own rule
    spans = [json.loads(line) for line in spans_file.read_text().splitlines()]
    parsed = [TRACEPARENT.match(header or "") for header in seen]
    assert len(parsed) > 10
    assert all(parsed)
    sent = {(m.group("trace"), m.group("span")) for m in parsed if m}
    answered = [span for span in spans if span["http_status"] is not None]
    assert sent == {(span["trace_id"], span["span_id"]) for span in answered}
    assert len(answered) == len(seen)
    assert len({span["trace_id"] for span in spans}) == len(spans)
    assert {span["kind"] for span in spans} == {"CLIENT"}
    by_name = {(span["name"], span["status"], span["http_status"]) for span in answered}
    assert by_name == {("GET /", "UNSET", 200), ("GET /fail", "ERROR", 500)}
    # Requests cut off when the run stopped its users (at most one per user) end as errors without a status.
    cut = [span for span in spans if span["http_status"] is None]
    assert len(cut) <= 2
    assert all(span["status"] == "ERROR" for span in cut)
