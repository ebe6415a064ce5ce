"""The grammar of ``promql:`` and ``[metric=NAME]`` criteria, and how an unjudged criterion decides a run."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from locust_scenarios._exitcodes import ExitCode
from locust_scenarios._run.decision import Facts, decide
from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._thresholds.grammar import parse
from locust_scenarios._thresholds.judging import Result, Verdict
from locust_scenarios._thresholds.promql import Prometheus, PrometheusError, SystemJudge, expand
from tests.conftest import free_port


def test_promql_criterion_keeps_commas_braces_and_comparisons_of_the_expression() -> None:
    """The comparison judged is the last one outside brackets, braces and quotes; commas inside belong
    to the expression, and the next criterion starts after the top-level comma."""
    text = (
        'promql:max_over_time(sum by (pod, node) (rate(cpu{pod=~"api-.*",x!="a,b"}[1m]))[$__range:])<0.8,'
        "[stage=hold]promql:increase(restarts[$__range])==0, p95<500ms"
    )
    cpu, restarts, latency = parse(text)
    assert cpu.promql == 'max_over_time(sum by (pod, node) (rate(cpu{pod=~"api-.*",x!="a,b"}[1m]))[$__range:])'
    assert (cpu.operator, cpu.limit, cpu.stage) == ("<", 0.8, None)
    assert (restarts.promql, restarts.operator, restarts.limit, restarts.stage) == (
        "increase(restarts[$__range])",
        "==",
        0.0,
        "hold",
    )
    assert latency.on_requests
    assert not cpu.on_requests
    assert restarts.holds(0.0)
    assert not restarts.holds(1.0)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("promql:up", "no comparison"),
        ("promql:up<high", "must be a number"),
        ("promql:<1", "no expression"),
        ("[GET /]promql:up==1", "only [stage=NAME]"),
    ],
)
def test_bad_promql_criteria_are_refused_naming_the_setting(text: str, says: str) -> None:
    """A promql: criterion without comparison, number or expression is refused in one line naming the setting."""
    with pytest.raises(SettingsError) as refused:
        parse(text)
    assert "LOCUST_SCENARIO_THRESHOLDS" in str(refused.value)
    assert says in str(refused.value)


def test_promql_and_metric_criteria_are_not_stop_criteria() -> None:
    """The breakpoint's stop criteria are judged on recent requests only."""
    for text in ("promql:up==1", "[metric=checkout]p95<2s"):
        with pytest.raises(SettingsError, match="LOCUST_SCENARIO_STOP_ON"):
            parse(text, setting="stop_on")


def test_metric_criteria_take_metric_aggregates_and_units() -> None:
    """``[metric=NAME]`` takes percentiles (durations in seconds or bare numbers), count, rate and value."""
    trend, rate, count, gauge = parse(
        "[metric=checkout]p95<2s, [metric=cache_hit]rate>90%, [stage=hold][metric=orders]count>100, "
        "[metric=queue_depth]value<=17"
    )
    assert (trend.metric, trend.aggregate, trend.quantile, trend.limit) == ("checkout", "p95", 0.95, 2.0)
    assert (rate.metric, rate.aggregate, rate.limit) == ("cache_hit", "rate", 0.9)
    assert (count.metric, count.stage, count.limit) == ("orders", "hold", 100.0)
    assert (gauge.aggregate, gauge.limit) == ("value", 17.0)
    assert parse("[metric=size]p99<1500")[0].limit == 1500.0
    with pytest.raises(SettingsError, match="rps applies to requests"):
        parse("[metric=checkout]rps>3")
    with pytest.raises(SettingsError, match="metric name"):
        parse("[metric=check out]count>1")


def test_range_is_expanded_to_whole_seconds() -> None:
    """``$__range`` becomes the length in whole seconds, rounded up, at least one."""
    assert expand("max_over_time(x[$__range])", 90.2) == "max_over_time(x[91s])"
    assert expand("increase(x[$__range])", 0.0) == "increase(x[1s])"


def test_an_unjudged_criterion_makes_the_run_inconclusive_never_a_pass() -> None:
    """Prometheus unreachable: exit 5 with the criterion named; a failed criterion beside it still gives 3."""
    cpu, latency = parse("promql:max(cpu)<0.8, p95<1s")
    unjudged = Result(cpu, None, 0, passed=False, note="connection refused", unjudged=True)
    verdict = Verdict((unjudged, Result(latency, 0.2, 10, passed=True)))
    decision = decide(Facts("run", thresholds=verdict, requests=10))
    assert decision.exit_code == ExitCode.INCONCLUSIVE
    assert decision.reasons[0]["reason"] == "thresholds_not_judged"
    assert cpu.text in decision.reasons[0]["detail"]
    assert "NOT JUDGED" in verdict.table(decision.exit_code)
    failed = Verdict((unjudged, Result(latency, 2.0, 10, passed=False)))
    assert decide(Facts("run", thresholds=failed, requests=10)).exit_code == ExitCode.THRESHOLD_FAILED


def test_prometheus_client_tells_query_errors_from_an_unavailable_prometheus(httpserver: HTTPServer) -> None:
    """400 bad_data is the expression's fault (refused before load); 503, a closed port or a missing
    parse_query API are Prometheus' (not judged); a check falls back to a query at time 0."""
    bad = {"status": "error", "errorType": "bad_data", "error": "parse error: unexpected <EOF>"}
    httpserver.expect_request("/bad/api/v1/parse_query").respond_with_json(bad, status=400)
    httpserver.expect_request("/down/api/v1/query").respond_with_data("down", status=503)
    httpserver.expect_request("/old/api/v1/parse_query").respond_with_data("404 page not found", status=404)
    ok = {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [0, "0.5"]}]}}
    httpserver.expect_request("/old/api/v1/query", data="query=up&time=0").respond_with_json(ok)
    with pytest.raises(PrometheusError, match="parse error") as refused:
        Prometheus(httpserver.url_for("/bad")).check("up(")
    assert not refused.value.unavailable
    with pytest.raises(PrometheusError, match="HTTP 503") as down:
        Prometheus(httpserver.url_for("/down")).values("up", 1.0)
    assert down.value.unavailable
    with pytest.raises(PrometheusError) as closed:
        Prometheus(f"http://127.0.0.1:{free_port()}", timeout=2).values("up", 1.0)
    assert closed.value.unavailable
    Prometheus(httpserver.url_for("/old")).check("up")


def test_credentials_are_sent_and_never_part_of_an_error(httpserver: HTTPServer) -> None:
    """A bearer token goes in the Authorization header; a refusal names the URL and status only."""
    httpserver.expect_request("/api/v1/query", headers={"Authorization": "Bearer s3cret"}).respond_with_json(
        {"status": "success", "data": {"resultType": "scalar", "result": [0, "1"]}}
    )
    url = httpserver.url_for("/").rstrip("/")
    assert Prometheus(url, token="s3cret").values("1", 1.0) == [1.0]  # noqa: S106  (a test token)
    with pytest.raises(PrometheusError) as refused:
        Prometheus(url, token="wrong-s3cret").values("1", 1.0)  # noqa: S106  (a test token)
    assert "s3cret" not in str(refused.value)


def test_a_stage_scoped_criterion_is_judged_over_the_stage_only(httpserver: HTTPServer) -> None:
    """[stage=hold]: $__range is the stage's length and the query is evaluated at its end."""
    seen: list[str] = []

    def answer(request: Request) -> Response:
        seen.append(request.form["query"] + "@" + request.form["time"])
        return Response('{"status":"success","data":{"resultType":"vector","result":[]}}')

    httpserver.expect_request("/api/v1/query").respond_with_handler(answer)
    times = iter([100.0, 100.0, 130.0, 190.0, 200.0, 200.0])
    criterion = parse("[stage=hold]promql:max_over_time(cpu[$__range])<0.8")
    judge = SystemJudge(criterion, Prometheus(httpserver.url_for("/").rstrip("/")), clock=lambda: next(times))
    judge.start()
    judge.tick("ramp")
    judge.tick("hold")
    judge.tick("hold")
    judge.tick("down")
    (result,) = judge.results(final=True)
    assert seen == ["max_over_time(cpu[60s])@190.000"]
    assert not result.passed
    assert result.note == "empty result: no series"
