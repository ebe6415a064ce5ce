"""Trace context headers and the OpenMetrics exposition with exemplars, without Locust runs."""

from __future__ import annotations

import re

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from locust_scenarios._exemplars import PER_NAME, Exemplar, Exemplars
from locust_scenarios._exporter.openmetrics import to_openmetrics, wants_openmetrics
from locust_scenarios._users.tracing import traced

TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$")


def test_traced_requests_get_a_valid_distinct_traceparent_and_keep_their_own() -> None:
    """Ratio 1: every header valid and sampled, trace ids distinct; ratio 0: nothing added; a
    locustfile's own traceparent and tracestate are kept as given."""
    headers = [traced({"Accept": "x"}, 1.0) for _ in range(500)]
    assert all(TRACEPARENT.match(sent["traceparent"]) for sent, _ in headers)
    assert all(sent["traceparent"].endswith("-01") for sent, _ in headers)
    trace_ids = [trace_id for _, trace_id in headers]
    assert len(set(trace_ids)) == 500
    assert all(sent["traceparent"].split("-")[1] == trace_id for sent, trace_id in headers)
    assert traced({"Accept": "x"}, 0.0) == ({"Accept": "x"}, None)
    own = {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01", "tracestate": "vendor=1"}
    assert traced(own, 1.0) == (own, None)


def test_a_ratio_samples_about_that_share_and_still_sends_every_header() -> None:
    """Ratio 0.2: every request has a traceparent; about a fifth are sampled (flags 01)."""
    sent = [traced({}, 0.2) for _ in range(2000)]
    sampled = [trace_id for _, trace_id in sent if trace_id is not None]
    assert all("traceparent" in headers for headers, _ in sent)
    assert 250 < len(sampled) < 550


def test_openmetrics_is_chosen_only_when_the_scrape_accepts_it() -> None:
    """Prometheus' Accept header takes OpenMetrics; plain text or q=0 does not."""
    prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    prometheus += "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    assert wants_openmetrics(prometheus)
    assert not wants_openmetrics("text/plain;version=0.0.4")
    assert not wants_openmetrics("application/openmetrics-text;q=0")
    assert not wants_openmetrics(None)


TEXT = """# HELP locust_requests_total Requests made.
# TYPE locust_requests_total counter
locust_requests_total{method="GET",name="/"} 3
# HELP locust_request_duration_seconds Response times.
# TYPE locust_request_duration_seconds histogram
locust_request_duration_seconds_bucket{method="GET",name="/",le="0.01"} 1
locust_request_duration_seconds_bucket{method="GET",name="/",le="0.1"} 2
locust_request_duration_seconds_bucket{method="GET",name="/",le="+Inf"} 3
locust_request_duration_seconds_sum{method="GET",name="/"} 0.6
locust_request_duration_seconds_count{method="GET",name="/"} 3
"""


def test_exemplars_land_on_the_bucket_their_latency_falls_in() -> None:
    """Each bucket carries the latest exemplar within its bounds; the result parses as OpenMetrics."""
    exemplars = {
        'method="GET",name="/"': [
            Exemplar(0.005, "1" * 32, 100.0),
            Exemplar(0.05, "2" * 32, 101.0),
            Exemplar(0.06, "3" * 32, 102.0),
            Exemplar(0.5, "4" * 32, 103.0),
        ]
    }
    text = to_openmetrics(TEXT.encode(), exemplars).decode()
    assert text.endswith("# EOF\n")
    assert "# TYPE locust_requests counter" in text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    buckets = {s.labels["le"]: s.exemplar for s in families["locust_request_duration_seconds"].samples if s.exemplar}
    assert buckets["0.01"].labels == {"trace_id": "1" * 32}
    assert buckets["0.1"].labels == {"trace_id": "3" * 32}
    assert buckets["+Inf"].labels == {"trace_id": "4" * 32}
    assert buckets["+Inf"].value == 0.5


def test_exemplar_store_stays_bounded_and_ships_only_what_is_new() -> None:
    """At most PER_NAME latencies per name; a report holds what came since the last one."""
    store, master = Exemplars(), Exemplars()
    for milliseconds in range(PER_NAME * 3):
        store.keep("GET", "/", Exemplar(milliseconds / 1000, f"{milliseconds:032x}", float(milliseconds)))
    assert len(store.snapshot()[("GET", "/")]) == PER_NAME
    master.absorb(store.drain())
    assert store.drain() == []
    assert len(master.snapshot()[("GET", "/")]) == PER_NAME
