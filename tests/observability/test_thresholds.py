"""Threshold expressions: parsing, judging Locust's statistics, the verdict and the stop condition."""

from __future__ import annotations

import time
from copy import copy

import pytest
from locust.env import Environment
from locust.stats import CachedResponseTimes, RequestStats

from locust_scenarios import ExitCode, SettingsError
from locust_scenarios._thresholds.grammar import Threshold, check_stages, format_value, parse
from locust_scenarios._thresholds.judging import Verdict, abort_reason, evaluate, stop_condition
from locust_scenarios._thresholds.measure import run_totals, sample
from locust_scenarios._thresholds.timeline import Timeline


def _stats(*requests: tuple[str, str, float], failures: int = 0, name: str = "/api/items") -> RequestStats:
    """Real Locust statistics holding ``requests`` (method, name, milliseconds) and some failures."""
    stats = RequestStats()
    for method, request_name, milliseconds in requests:
        stats.log_request(method, request_name, milliseconds, 100)
    for _ in range(failures):
        stats.log_request("GET", name, 5, 0)
        stats.log_error("GET", name, "HTTPError('500')")
    return stats


def _uniform(count: int, name: str = "/api/items", method: str = "GET") -> list[tuple[str, str, float]]:
    """``count`` requests taking 1, 2, ... ``count`` milliseconds."""
    return [(method, name, float(ms)) for ms in range(1, count + 1)]


# -- parsing ------------------------------------------------------------------------------------------


def test_parse_reads_every_aggregate_with_base_units() -> None:
    """Latency limits become seconds, ratios fractions, counts and rates plain numbers."""
    parsed = parse(
        "p50<10ms, p90<20ms,p95<500ms,p99<1s,p99.9<2s,max<3s,avg<100ms,min<1ms,"
        "fail_ratio<1%,rps>50,requests>=100,failures<=3"
    )
    assert [(t.aggregate, t.operator, t.limit) for t in parsed] == [
        ("p50", "<", 0.01),
        ("p90", "<", 0.02),
        ("p95", "<", 0.5),
        ("p99", "<", 1.0),
        ("p99.9", "<", 2.0),
        ("max", "<", 3.0),
        ("avg", "<", 0.1),
        ("min", "<", 0.001),
        ("fail_ratio", "<", 0.01),
        ("rps", ">", 50.0),
        ("requests", ">=", 100.0),
        ("failures", "<=", 3.0),
    ]
    assert parsed[4].quantile == pytest.approx(0.999)
    assert [t.kind for t in parsed[:8]] == ["latency"] * 8


def test_parse_accepts_k6_percentile_spelling_median_and_any_percentile() -> None:
    """``p(95)``, ``med``/``median`` and arbitrary percentiles such as ``p75`` are understood."""
    k6, median, p75 = parse("p(95)<200ms,median<50ms,p75<100ms")
    assert (k6.aggregate, k6.quantile) == ("p95", 0.95)
    assert (median.aggregate, median.quantile) == ("p50", 0.5)
    assert (p75.aggregate, p75.quantile) == ("p75", 0.75)


def test_parse_keeps_the_text_as_written_for_labels() -> None:
    """Each criterion's text (the metric label) is the criterion as written, trimmed."""
    assert [t.text for t in parse(" p95<500ms ,  [GET /a]rps>1")] == ["p95<500ms", "[GET /a]rps>1"]


def test_selector_may_contain_commas_and_spaces() -> None:
    """Commas inside [...] belong to the request name; the selector keeps method and name."""
    first, second = parse("[GET /search?q=a,b]p95<300ms,[/api/items]fail_ratio<5%")
    assert first.selector == "GET /search?q=a,b"
    assert first.limit == 0.3
    assert second.selector == "/api/items"


def test_empty_or_missing_expression_means_no_thresholds() -> None:
    """None or blank text gives no criteria (Locust's own exit rule then applies)."""
    assert parse(None) == ()
    assert parse("   ") == ()


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("p95<500", "latency '500' needs a unit, e.g. 500ms or 500s"),
        ("p95<1s,,rps>1", "criterion 2 is empty"),
        ("p95x<1s", "unknown aggregate 'p95x'; did you mean p95?"),
        ("fail_ratio<1x%", "ratio '1x%' must be a percentage"),
        ("fail_ratio<150%", "must be between 0% and 100%"),
        ("[GET /x p95<1s", "no ']' closes"),
        ("[]p95<1s", "'[]' selects no request"),
        ("p95=1s", "operator '=' is not supported"),
        ("p95 1s", "no comparison"),
        ("rps>fast", "value 'fast' must be a number"),
        ("p95<", "has no value"),
        ("p0<1s", "must be above p0"),
        ("<1s", "no aggregate"),
    ],
)
def test_invalid_expressions_raise_one_line_naming_the_setting_and_the_bad_part(expression: str, expected: str) -> None:
    """A bad criterion raises SettingsError: one line with the variable, the option and the bad part."""
    with pytest.raises(SettingsError) as raised:
        parse(expression)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"invalid setting LOCUST_SCENARIO_THRESHOLDS={expression!r} (--scenario-thresholds)")
    assert expected in message
    assert raised.value.exit_code == 2


def test_parse_errors_name_the_criterion_by_position() -> None:
    """With several criteria, the message points at the bad one by number and text."""
    with pytest.raises(SettingsError, match=r"criterion 2 'fail_ratio<1x%'"):
        parse("p95<1s,fail_ratio<1x%")


def test_parse_errors_for_stop_on_name_that_setting() -> None:
    """The breakpoint's stop criteria report LOCUST_SCENARIO_STOP_ON in their messages."""
    with pytest.raises(SettingsError, match=r"LOCUST_SCENARIO_STOP_ON='p95<' \(--scenario-stop-on\)"):
        parse("p95<", setting="stop_on")


# -- judging ------------------------------------------------------------------------------------------


def test_percentiles_are_locusts_own_numbers() -> None:
    """pNN equals StatsEntry.get_response_time_percentile (in seconds) for the same statistics."""
    stats = _stats(*_uniform(200))
    results = evaluate(parse("p50<1s,p95<1s,p99<1s,p99.9<1s"), stats)
    for result, quantile in zip(results, (0.5, 0.95, 0.99, 0.999), strict=True):
        assert result.value == stats.total.get_response_time_percentile(quantile) / 1000
        assert result.samples == 200


def test_avg_min_max_fail_ratio_requests_and_failures() -> None:
    """Each aggregate measures what its name says over the whole run."""
    stats = _stats(*_uniform(100), failures=25)
    values = {
        r.threshold.aggregate: r.value
        for r in evaluate(parse("avg<1s,min<1s,max<1s,fail_ratio<1%,requests>1,failures<1"), stats)
    }
    assert values["avg"] == pytest.approx((sum(range(1, 101)) + 25 * 5) / 125 / 1000)
    assert values["min"] == 0.001
    assert values["max"] == 0.1
    assert values["fail_ratio"] == 25 / 125
    assert values["requests"] == 125
    assert values["failures"] == 25


def test_passing_and_failing_comparisons() -> None:
    """Each operator compares the measured value with the limit."""
    stats = _stats(*_uniform(100))
    results = evaluate(parse("max<100ms,max<=100ms,max>99ms,max>=101ms,requests>=100,requests>100"), stats)
    assert [r.passed for r in results] == [False, True, True, False, True, False]


def test_zero_samples_fail() -> None:
    """With no requests, every criterion fails: nothing measured is not a pass."""
    results = evaluate(parse("p95<1s,fail_ratio<50%,rps>0,requests<10,failures<1"), RequestStats())
    assert [r.passed for r in results] == [False] * 5
    assert all(r.samples == 0 and r.value is None and r.note == "no samples" for r in results)


def test_selector_matches_name_or_method_and_name() -> None:
    """[NAME] matches every method of that name; [METHOD NAME] only that method."""
    stats = _stats(*_uniform(10, "/a", "GET"), *_uniform(30, "/a", "POST"), *_uniform(50, "/b", "GET"))
    by_name, by_method, other = evaluate(parse("[/a]requests>0,[POST /a]requests>0,[GET /b]max<40ms"), stats)
    assert by_name.value == 40
    assert by_method.value == 30
    assert (other.value, other.passed) == (0.05, False)


def test_selector_without_a_matching_request_fails_and_suggests_a_name() -> None:
    """A selector that matches nothing fails with the closest known name in its note."""
    stats = _stats(*_uniform(10, "/api/items"))
    (result,) = evaluate(parse("[GET /api/item]p95<1s"), stats)
    assert not result.passed
    assert result.note == "no request named 'GET /api/item' (closest: 'GET /api/items')"


def test_rps_uses_the_runs_span() -> None:
    """rps is requests divided by the time between the first and the last request (Locust's total rps)."""
    stats = _stats(*_uniform(10))
    stats.total.start_time -= 4.0
    (result,) = evaluate(parse("rps>1"), stats)
    assert result.value == pytest.approx(stats.total.total_rps)
    assert result.value == pytest.approx(10 / 4, rel=0.05)


def test_abort_ignores_missing_samples_and_lower_bounds_on_counts() -> None:
    """Mid-run, only failures that cannot recover abort: not 'no samples yet', not 'requests>N'."""
    stats = _stats(*_uniform(10))
    results = evaluate(parse("requests>1000,[GET /none]p95<1s"), stats)
    assert not any(r.passed for r in results)
    assert abort_reason(results) is None
    failing = evaluate(parse("max<5ms,failures<=0"), stats)
    reason = abort_reason(failing)
    assert reason is not None
    assert reason.startswith("max<5ms: 10ms over 10 samples (fail)")


def test_window_sample_judges_only_recent_latency() -> None:
    """The window's latency excludes requests Locust's ten-second-old snapshot already held."""
    stats = RequestStats()
    for _ in range(50):
        stats.log_request("GET", "/a", 900, 0)
    old = int(time.time()) - 11
    for entry in (stats.total, stats.get("/a", "GET")):
        assert entry.response_times_cache is not None
        entry.response_times_cache[old] = CachedResponseTimes(
            response_times=copy(entry.response_times),
            num_requests=entry.num_requests,
            num_none_requests=entry.num_none_requests,
        )
    for _ in range(20):
        stats.log_request("GET", "/a", 10, 0)
    recent = sample(stats, window=True)
    assert recent.timed == 20
    assert dict(recent.response_times) == {10: 20}
    assert (recent.min_response_time, recent.max_response_time) == (10, 10)
    assert sample(stats).timed == 70
    (window_result,) = evaluate(parse("p95<100ms"), stats, window=True)
    (run_result,) = evaluate(parse("p95<100ms"), stats)
    assert window_result.passed
    assert not run_result.passed


def test_window_counts_requests_and_failures_of_the_last_ten_seconds() -> None:
    """Window counts come from Locust's per-second tallies: older seconds are left out."""
    stats = _stats(*_uniform(10), failures=5)
    entry = stats.get("/api/items", "GET")
    old = int(time.time()) - 30
    entry.num_reqs_per_sec[old] += 100
    entry.num_fail_per_sec[old] += 100
    recent = sample(stats, "GET /api/items", window=True)
    assert (recent.requests, recent.failures) == (15, 5)


def test_stop_condition_reports_a_breach_with_users_and_throughput() -> None:
    """The stop condition returns None while criteria hold, then a description, keeping the first breach."""
    environment = Environment()
    environment.create_local_runner()
    condition = stop_condition(parse("p95<50ms,fail_ratio<10%"), environment)
    assert condition() is None  # no samples yet: no traffic is not a breach
    for _ in range(20):
        environment.stats.log_request("GET", "/a", 10, 0)
    assert condition() is None
    for _ in range(20):
        environment.stats.log_request("GET", "/a", 10, 0)
        environment.stats.log_error("GET", "/a", "boom")
    breach = condition()
    assert breach is not None
    assert breach.startswith("fail_ratio<10%: 50% over 40 samples (fail)")
    assert condition.breach is not None
    assert condition.breach["users"] == 0
    assert condition.breach["fail_ratio"] == 0.5
    assert condition.breach["description"] == breach


# -- the verdict --------------------------------------------------------------------------------------


def test_verdict_passes_with_exit_0_and_fails_with_exit_3() -> None:
    """All criteria passing gives exit code 0; any failure, or an abort, gives 3."""
    stats = _stats(*_uniform(100))
    passing = Verdict(evaluate(parse("p95<1s,fail_ratio<1%"), stats))
    failing = Verdict(evaluate(parse("p95<1s,p95<10ms"), stats))
    aborted = Verdict(evaluate(parse("p95<1s"), stats), aborted="p95<10ms: 96ms")
    assert (passing.passed, passing.exit_code) == (True, ExitCode.PASSED)
    assert (failing.passed, failing.exit_code) == (False, ExitCode.THRESHOLD_FAILED)
    assert (aborted.passed, aborted.exit_code) == (False, ExitCode.THRESHOLD_FAILED)


def test_verdict_table_lists_every_criterion_and_the_outcome() -> None:
    """The printed table has one row per criterion with value, samples and pass/FAIL, then the verdict."""
    stats = _stats(*_uniform(100))
    p95 = f"{stats.total.get_response_time_percentile(0.95)}ms"
    table = Verdict(evaluate(parse("p95<1s,p95<10ms,[GET /x]rps>1"), stats)).table()
    lines = table.splitlines()
    assert lines[0].split() == ["threshold", "value", "samples", "measured", "result"]
    assert lines[2].split() == ["p95<1s", p95, "100", "run", "pass"]
    assert lines[3].split() == ["p95<10ms", p95, "100", "run", "FAIL"]
    assert "no request named 'GET /x'" in lines[4]
    assert lines[-1] == "Thresholds: FAIL (2 failed), exit code 3"


def test_verdict_table_names_the_runs_exit_code_when_it_differs() -> None:
    """Thresholds that passed in a run interrupted by SIGTERM: the last line gives the run's code, 4."""
    verdict = Verdict(evaluate(parse("p95<1s"), _stats(*_uniform(100))))
    assert verdict.table(ExitCode.PASSED).splitlines()[-1] == "Thresholds: PASS (1 of 1 passed), exit code 0"
    last = verdict.table(ExitCode.INTERRUPTED).splitlines()[-1]
    assert last == (
        "Thresholds: PASS (1 of 1 passed); the run's exit code is 4: "
        "interrupted before the profile completed (SIGTERM, Ctrl-C)"
    )


def test_run_totals_summarise_the_whole_run() -> None:
    """The summary's totals: counts, fail ratio, throughput and latency in seconds."""
    stats = _stats(*_uniform(100), failures=0)
    totals = run_totals(stats)
    assert totals["requests"] == 100
    assert totals["failures"] == 0
    assert totals["fail_ratio"] == 0
    assert totals["p95_seconds"] == stats.total.get_response_time_percentile(0.95) / 1000
    assert totals["max_seconds"] == 0.1
    assert run_totals(RequestStats())["p95_seconds"] is None


@pytest.mark.parametrize(
    ("kind", "value", "text"),
    [
        ("latency", 0.73, "730ms"),
        ("latency", 1.5, "1.5s"),
        ("ratio", 0.0123, "1.23%"),
        ("rate", 53.14, "53.14/s"),
        ("count", 1000.0, "1000"),
        ("latency", None, "-"),
    ],
)
def test_values_are_formatted_in_their_unit(kind: str, value: float | None, text: str) -> None:
    """Values print in the unit a person expects for each kind of aggregate."""
    assert format_value(kind, value) == text  # type: ignore[arg-type]


def test_threshold_can_recover_only_for_lower_bounds_on_counts() -> None:
    """requests>N and failures>=N may still pass later in a run; everything else cannot recover."""
    assert Threshold("requests>5", "requests", ">", 5).can_recover()
    assert not Threshold("failures<5", "failures", "<", 5).can_recover()
    assert not Threshold("p95<1s", "p95", "<", 1, quantile=0.95).can_recover()


# -- by stage and by window ---------------------------------------------------------------------------


def test_stage_and_window_are_parsed_with_the_request_selector() -> None:
    """[stage=NAME], a request selector in either order, and 'over DURATION' after the value."""
    staged, windowed, both = parse("[stage=steady]p95<300ms, p95<300ms over 1m, [GET /x][stage=ramp-up]rps>5 over 10s")
    assert (staged.stage, staged.selector, staged.window, staged.limit) == ("steady", None, None, 0.3)
    assert (windowed.stage, windowed.window, windowed.where) == (None, 60.0, "every 1m")
    assert (both.stage, both.selector, both.window, both.where) == (
        "ramp-up",
        "GET /x",
        10.0,
        "every 10s in stage ramp-up",
    )
    assert parse("p95<300ms")[0].where == "run"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("[stage=]p95<1s", "'[stage=]' names no stage"),
        ("p95<1s over soon", "window 'soon' must be a duration"),
        ("p95<1s over 500ms", "must be at least 1s"),
        ("[GET /a][GET /b]p95<1s", "one request selector per criterion"),
    ],
)
def test_bad_stage_or_window_is_refused(expression: str, expected: str) -> None:
    """Bad stage selectors and windows are invalid settings naming the criterion."""
    with pytest.raises(SettingsError, match="LOCUST_SCENARIO_THRESHOLDS") as raised:
        parse(expression)
    assert expected in str(raised.value)


def test_stop_criteria_refuse_stages_and_windows() -> None:
    """The breakpoint's stop criteria are judged on recent statistics: no stage, no window."""
    with pytest.raises(SettingsError, match="LOCUST_SCENARIO_STOP_ON"):
        parse("p95<1s over 1m", setting="stop_on")


def test_a_stage_must_be_one_of_the_profiles() -> None:
    """An unknown stage name is refused with the profile's stage names and the closest one."""
    thresholds = parse("[stage=stedy]p95<1s")
    with pytest.raises(SettingsError) as raised:
        check_stages(thresholds, ["ramp-up", "steady", "ramp-down"], "[stage=stedy]p95<1s")
    assert "no stage named 'stedy'" in str(raised.value)
    assert "did you mean steady?" in str(raised.value)
    with pytest.raises(SettingsError, match="no profile runs"):
        check_stages(thresholds, None, "[stage=stedy]p95<1s")
    check_stages(parse("[stage=steady]p95<1s,p99<2s"), ["ramp-up", "steady"], "x")


def _log(stats: RequestStats, milliseconds: float, count: int, name: str = "/api/items") -> None:
    for _ in range(count):
        stats.log_request("GET", name, milliseconds, 10)


def test_a_stage_criterion_is_judged_on_that_stages_requests_only() -> None:
    """Slow requests during the ramp do not count against [stage=steady]p95; the whole-run p95 sees them."""
    stats = RequestStats()
    timeline = Timeline(parse("[stage=steady]p95<100ms,p95<100ms,[stage=steady]rps>9"))
    timeline.tick(0, "ramp-up", stats)
    _log(stats, 900, 50)
    timeline.tick(5, "steady", stats)
    _log(stats, 20, 100)
    timeline.tick(15, "ramp-down", stats)
    _log(stats, 900, 50)
    timeline.finish(20, stats)
    staged, whole, rate = timeline.results(stats)
    assert (staged.passed, staged.value, staged.samples, staged.where) == (True, 0.02, 100, "stage steady (10s)")
    assert (whole.passed, whole.where) == (False, "run")
    assert (rate.value, rate.passed) == (10.0, True)
    verdict = Verdict((staged, whole, rate)).table()
    assert "stage steady (10s)" in verdict


def test_a_stage_that_occurs_twice_pools_both_and_a_missing_stage_fails() -> None:
    """Two 'hold' stages are judged together; a stage with no requests has no samples and fails."""
    stats = RequestStats()
    timeline = Timeline(parse("[stage=hold]max<=50ms,[stage=never]p95<1s"))
    timeline.tick(0, "hold", stats)
    _log(stats, 10, 5)
    timeline.tick(3, "step", stats)
    _log(stats, 900, 5)
    timeline.tick(6, "hold", stats)
    _log(stats, 50, 5)
    timeline.finish(9, stats)
    held, never = timeline.results(stats)
    assert (held.value, held.samples, held.passed, held.where) == (0.05, 10, True, "stage hold (6s)")
    assert (never.passed, never.note) == (False, "no samples in stage never")


def test_a_window_criterion_must_hold_in_every_window() -> None:
    """One slow 10 s window among fast ones fails 'p95<100ms over 10s'; the worst window is reported."""
    stats = RequestStats()
    timeline = Timeline(parse("p95<100ms over 10s"))
    for second in range(31):
        timeline.tick(second, "", stats)
        _log(stats, 500 if 10 <= second < 20 else 20, 3)
    timeline.finish(31, stats)
    (result,) = timeline.results(stats)
    assert result.passed is False
    assert result.value == 0.5
    assert result.samples == 30
    assert result.where == "worst of 3 windows of 10s (10s-20s), 1 failed"
    whole = evaluate(parse("p95<600ms"), stats)[0]
    assert whole.passed


def test_a_window_criterion_without_traffic_fails_for_lack_of_samples() -> None:
    """No window with requests: the criterion fails with a note, like a whole-run one without samples."""
    stats = RequestStats()
    timeline = Timeline(parse("p95<1s over 5s"))
    for second in range(12):
        timeline.tick(second, "", stats)
    timeline.finish(12, stats)
    (result,) = timeline.results(stats)
    assert (result.passed, result.samples, result.note) == (False, 0, "no every 5s window with samples")


def test_only_settled_results_may_abort_the_run() -> None:
    """A stage's result is final only once the stage is over; whole-run and window criteria always are."""
    staged, windowed, whole = parse("[stage=steady]p95<1s, p95<1s over 10s, p95<1s")
    timeline = Timeline((staged, windowed, whole))
    stats = RequestStats()
    timeline.tick(0, "ramp-up", stats)
    assert not timeline.settled(staged)
    timeline.tick(5, "steady", stats)
    assert not timeline.settled(staged)
    timeline.tick(15, "ramp-down", stats)
    assert timeline.settled(staged)
    assert timeline.settled(windowed)
    assert timeline.settled(whole)
