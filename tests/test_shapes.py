"""Profiles are pure functions of run time: tested by stepping t, never by sleeping."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from locust.util.load_locustfile import is_shape_class

import locust_scenarios
from locust_scenarios import (
    BreakpointProfile,
    LoadProfile,
    Plan,
    ScenarioProfile,
    ScenarioShape,
    SettingsError,
    SpikeProfile,
    Stage,
    StagesProfile,
    StressProfile,
    parse_stages,
    register_profile,
    repeat,
    scale,
    sequence,
)
from locust_scenarios._shapes.profile import profile_names
from locust_scenarios.testing import options_namespace

SIX = ["smoke", "load", "stress", "spike", "endurance", "breakpoint"]


def configured(scenario: str, **settings: Any) -> ScenarioShape:
    """A concrete selecting shape configured as a run with these settings would be."""
    shape = type("Shape", (ScenarioShape,), {})()
    locust_options = {k: settings.pop(k) for k in ("num_users", "spawn_rate", "run_time") if k in settings}
    shape.configure(options=options_namespace({"scenario": scenario, **settings}, **locust_options))
    return shape


def test_every_exported_class_is_abstract() -> None:
    """No exported shape or user class is concrete, so importing names never picks a shape."""
    for name in locust_scenarios.__all__:
        value = getattr(locust_scenarios, name)
        if isinstance(value, type) and hasattr(value, "abstract"):
            assert value.abstract is True, name
            assert not is_shape_class(value), name


def test_subclass_without_body_is_a_concrete_shape() -> None:
    """`class Shape(ScenarioShape): pass` is what Locust picks up."""
    assert is_shape_class(type("Shape", (ScenarioShape,), {}))


@pytest.mark.parametrize("scenario", SIX)
def test_users_is_the_most_users_any_profile_runs(scenario: str) -> None:
    """LOCUST_SCENARIO_USERS is the peak of every profile; no tick asks for more."""
    shape = configured(scenario, users=37)
    plan = shape.plan
    assert plan.peak == 37
    assert plan.duration > 0
    ticks = [plan.tick(t / 2) for t in range(int(plan.duration * 2))]
    assert max(tick[0] for tick in ticks if tick) == 37
    assert plan.tick(plan.duration) is None


@pytest.mark.parametrize("scenario", SIX)
def test_tick_ends_the_run_after_the_planned_duration(scenario: str) -> None:
    """tick() answers until the plan's end and None after it."""
    shape = configured(scenario, users=10, duration="10m")
    assert shape.target(0) is not None
    assert shape.target(shape.plan.duration - 0.01) is not None
    assert shape.target(shape.plan.duration) is None


def test_load_defaults_follow_published_guidance() -> None:
    """Average load: ramp over 10% of the time, plateau at least 5x the ramp, ramp down 5%."""
    plan = configured("load").plan
    ramp, steady, down = plan.table()
    assert ramp["end_s"] == pytest.approx(0.10 * plan.duration)
    assert steady["end_s"] - steady["start_s"] >= 5 * ramp["end_s"]
    assert down["end_s"] - down["start_s"] == pytest.approx(0.05 * plan.duration)
    assert plan.level(ramp["end_s"] / 2) == pytest.approx(25)


def test_smoke_runs_a_few_users_for_about_a_minute() -> None:
    """Smoke: 2-5 users for about a minute."""
    plan = configured("smoke").plan
    assert 2 <= plan.peak <= 5
    assert 45 <= plan.duration <= 90


def test_stress_steps_from_average_to_twice_average() -> None:
    """Stress: the default two steps are the average load and 2x, each held."""
    plan = configured("stress", users=80).plan
    levels = [row["to"] for row in plan.table() if row["name"].startswith("step")]
    assert levels == [40, 80]
    three = configured("stress", users=90, steps=3).plan
    assert [row["to"] for row in three.table() if row["name"].startswith("step")] == [30, 60, 90]


def test_spike_surges_twenty_fold_within_seconds_and_recovers() -> None:
    """Spike: baseline 1/20 of the peak, a rise of seconds, a short hold, a recovery phase."""
    plan = configured("spike", users=200).plan
    rows = {row["name"]: row for row in plan.table()}
    assert rows["baseline"]["to"] == 10
    assert rows["surge"]["end_s"] - rows["surge"]["start_s"] <= 10
    assert rows["peak"]["to"] == 200
    assert rows["recovery"]["to"] == 10
    assert rows["recovery"]["end_s"] - rows["recovery"]["start_s"] > 0


def test_spike_rise_follows_spawn_rate() -> None:
    """With a spawn rate, the surge takes (peak - baseline) / rate seconds."""
    rows = {row["name"]: row for row in configured("spike", users=100, spawn_rate=19).plan.table()}
    assert rows["surge"]["end_s"] - rows["surge"]["start_s"] == pytest.approx(5)


def test_endurance_holds_for_hours() -> None:
    """Endurance (soak): hours at average load."""
    plan = configured("endurance").plan
    assert plan.duration >= 3600


def test_ramp_longer_than_duration_is_refused_with_names() -> None:
    """A ramp that does not fit the duration fails naming the variables involved."""
    with pytest.raises(SettingsError, match=r"LOCUST_SCENARIO_RAMP_UP='2m' \(--scenario-ramp-up\).*DURATION='1m'"):
        configured("load", duration="1m", ramp_up="2m")


def test_a_profile_default_is_never_named_as_the_users_setting() -> None:
    """When a duration the user set leaves no room for a ramp the profile chose, the duration is the
    invalid setting and the ramp is named as the profile's default, not as something the user set."""
    with pytest.raises(SettingsError) as caught:
        configured("smoke", duration="3s")
    message = str(caught.value)
    assert message.startswith("invalid setting LOCUST_SCENARIO_DURATION='3s' (--scenario-duration): must be longer")
    assert "LOCUST_SCENARIO_RAMP_UP='5s' (not set; the smoke profile's default)" in message
    assert "RAMP_DOWN" not in message


def test_the_ramp_the_user_set_is_blamed_with_the_defaults_named_as_such() -> None:
    """A ramp-down the user set that does not fit is the invalid setting; the derived ramp-up and the
    profile's duration are named as what they are."""
    with pytest.raises(SettingsError) as caught:
        configured("load", ramp_down="10m")
    message = str(caught.value)
    assert message.startswith("invalid setting LOCUST_SCENARIO_RAMP_DOWN='10m' (--scenario-ramp-down): with ")
    assert "LOCUST_SCENARIO_RAMP_UP='1m' (not set; a share of the duration)" in message
    assert "LOCUST_SCENARIO_DURATION='10m' (not set; the load profile's default)" in message


def test_a_spike_hold_that_leaves_no_recovery_is_named() -> None:
    """A hold the user set that leaves no time to recover within the profile's duration is the invalid
    setting, with the longest hold that fits."""
    with pytest.raises(SettingsError, match=r"LOCUST_SCENARIO_HOLD='4m' \(--scenario-hold\): leaves no time"):
        configured("spike", hold="4m")


def test_ramp_tick_reaches_its_target_exactly_at_the_stage_end() -> None:
    """A ramp answers its end level with the rate that gets there at the end of the stage."""
    plan = Plan((Stage(10, 20, "up"), Stage(30, 20, "hold"), Stage(5, 0, "down")))
    assert plan.tick(0) == (20, 2.0)
    assert plan.tick(15) == (20, 2.0)  # a hold repeats the answer: Locust does not restart spawning
    assert plan.tick(41) == (0, 4.0)
    assert plan.level(5) == pytest.approx(10)
    assert plan.stage_name(12) == "hold"
    assert plan.points() == [(0.0, 0.0), (10.0, 20), (40.0, 20), (45.0, 0)]


def test_jump_stage_moves_within_a_second_unless_a_rate_is_given() -> None:
    """A zero-length stage is a jump; its rate defaults to the whole step per second."""
    plan = Plan((Stage(10, 5), Stage(0, 50, "jump"), Stage(10, 50, "hold")))
    assert plan.tick(11) == (50, 45.0)
    assert plan.points()[1:3] == [(10.0, 5), (10.0, 50)]
    paced = Plan((Stage(10, 5), Stage(0, 50, spawn_rate=9), Stage(10, 50)))
    assert paced.tick(11) == (50, 9)


def test_composition_sequence_repeat_scale() -> None:
    """sequence() chains plans, repeat() repeats them, scale() multiplies levels."""
    wave = Plan((Stage(10, 10, "up"), Stage(10, 0, "down")))
    twice = repeat(wave, 2)
    assert twice.duration == 40
    assert [row["name"] for row in twice.table()] == ["up#1", "down#1", "up#2", "down#2"]
    assert scale(wave, 3).peak == 30
    joined = sequence(Plan((Stage(5, 4),)), Plan((Stage(5, 8),), start=8))
    assert [row["name"] for row in joined.table()][1] == "jump"
    assert joined.level(5) == 8
    assert wave.then(wave).duration == 40


def test_truncated_cuts_a_ramp_at_its_interpolated_level() -> None:
    """-t cuts the plan short; the cut stage ends at the level it had then."""
    plan = Plan((Stage(10, 20), Stage(10, 20))).truncated(5)
    assert plan.duration == 5
    assert plan.peak == pytest.approx(10)


def test_run_time_option_caps_the_profile() -> None:
    """Locust's -t caps the profile's duration instead of being ignored."""
    shape = configured("load", users=10, duration="10m", run_time=90)
    assert shape.plan.duration == 90
    assert shape.target(91) is None


def test_users_option_stands_for_scenario_users_unless_given() -> None:
    """Locust's -u is the peak when --scenario-users is not set; --scenario-users wins."""
    assert configured("load", num_users=12).plan.peak == 12
    assert configured("load", num_users=12, users=7).plan.peak == 7


def test_selecting_shape_rejects_unknown_names_listing_the_allowed() -> None:
    """LOCUST_SCENARIO must name a registered profile."""
    with pytest.raises(SettingsError, match=r"LOCUST_SCENARIO='nonsense'.*smoke, load, stress, spike"):
        configured("nonsense")


def test_registered_profile_is_selectable_by_name() -> None:
    """A user-registered profile becomes a LOCUST_SCENARIO name with its class defaults."""

    @register_profile("checkout-peak")
    class CheckoutPeak(ScenarioProfile):
        abstract = True
        users = 12
        duration = "2m"

        def build(self, settings: Any) -> Plan:
            peak, unit = self.peak(settings)
            return Plan((Stage(self.seconds(settings, "duration"), peak, "climb"),), unit=unit)

    assert "checkout-peak" in profile_names()
    shape = configured("checkout-peak")
    assert shape.plan.peak == 12
    assert shape.plan.duration == 120


def test_class_attributes_configure_a_profile_subclass() -> None:
    """A subclass sets parameters as class attributes; settings still override them."""

    class Busy(LoadProfile):
        users = 33
        duration = "2m"

    shape = Busy()
    shape.configure(options=options_namespace())
    assert (shape.plan.peak, shape.plan.duration) == (33, 120)
    shape.configure(options=options_namespace({"users": 5}))
    assert shape.plan.peak == 5


def test_stages_profile_from_class_attribute_and_from_setting() -> None:
    """Declarative stages come from a class attribute or LOCUST_SCENARIO_STAGES; users scales them."""

    class Custom(StagesProfile):
        stages = (Stage(10, 4, "warm"), Stage(20, 8, "busy"), Stage(5, 0, "cool"))

    shape = Custom()
    shape.configure(options=options_namespace())
    assert shape.plan.peak == 8
    shape.configure(options=options_namespace({"users": 16}))
    assert shape.plan.level(10) == 8
    from_setting = configured("stages", stages="30s:10,1m:10,30s:0")
    assert from_setting.plan.duration == 120


def test_bad_stages_setting_points_at_the_bad_stage() -> None:
    """A malformed stage list fails naming the setting and the stage."""
    with pytest.raises(SettingsError, match=r"LOCUST_SCENARIO_STAGES=.*stage 2 '1m'"):
        configured("stages", stages="30s:10,1m,30s:0")
    with pytest.raises(ValueError, match="stage 1"):
        parse_stages("10x:5")


def test_breakpoint_stops_at_the_first_breach_and_records_it() -> None:
    """Breakpoint ramps until its stop condition reports a breach, then ends the run."""
    shape = BreakpointProfile.__new__(type("BP", (BreakpointProfile,), {}))
    BreakpointProfile.__init__(shape)
    answers = iter([None, None, "fail_ratio 7.0% > 5%"])
    shape.configure(options=options_namespace({"users": 100, "duration": "100s"}), stop_condition=lambda: next(answers))
    assert shape.target(1) is not None
    assert shape.target(2) is not None
    assert shape.target(40) is None
    assert shape.breach == "fail_ratio 7.0% > 5% at 40s with 40 planned users"
    assert shape.target(41) is None


def test_breakpoint_staircase() -> None:
    """With steps, breakpoint climbs a staircase capped at users."""
    plan = configured("breakpoint", users=100, steps=4, duration="4m").plan
    assert [row["to"] for row in plan.table() if row["name"].startswith("step")] == [25, 50, 75, 100]


def test_open_model_ticks_a_constant_pool_and_plans_iterations() -> None:
    """With LOCUST_SCENARIO_RATE the levels are iterations/s; users are a constant pool."""
    shape = configured("load", rate=200, users=30, duration="1m")
    assert shape.open_model
    assert shape.plan.unit == "iterations/s"
    assert shape.plan.peak == 200
    assert shape.target(1) == (30, 30.0)  # the whole pool at once: users wait for their slots
    assert shape.target(30) == (30, 30.0)
    assert shape.target(60) is None


def test_stress_ramp_must_fit_each_step() -> None:
    """A stress ramp longer than a step is refused."""
    with pytest.raises(SettingsError, match="each step"):
        configured("stress", duration="2m", ramp_up="2m")


def test_spike_that_does_not_fit_its_duration_is_refused() -> None:
    """A spike whose phases exceed the duration fails naming the duration."""
    with pytest.raises(SettingsError, match="LOCUST_SCENARIO_DURATION='1m'"):
        configured("spike", duration="1m", hold="2m")


def test_spike_class_defaults_are_read_by_the_selecting_shape() -> None:
    """The selecting shape uses the chosen profile's class attributes as defaults."""
    assert configured("spike").plan.peak == SpikeProfile.users
    assert configured("stress").plan.peak == StressProfile.users


def test_selecting_shape_subclass_may_set_a_default_profile_and_parameters() -> None:
    """A locustfile's shape can default to a profile and a peak; the environment still overrides."""

    class Shape(ScenarioShape):
        scenario = "spike"
        users = 60

    shape = Shape()
    shape.configure(options=options_namespace())
    assert (shape.selected_name, shape.plan.peak) == ("spike", 60)
    shape.configure(options=options_namespace({"scenario": "smoke"}))
    assert (shape.selected_name, shape.plan.peak) == ("smoke", 60)


def test_run_start_rereads_scenario_options_but_keeps_locusts_common_ones() -> None:
    """At run start the profile re-reads --scenario-* options; -u/-r/-t keep their values from init.

    Locust's headless mode writes -u 1 and -r 1 into the options after init; the web UI writes its
    form there just before the run. (The runner is a stand-in here; tests/test_locust_runs.py
    covers the real web UI and headless runs.)
    """
    shape = type("Shape", (ScenarioShape,), {})()
    options = options_namespace({"scenario": "stages", "stages": "10s:8"}, num_users=None, spawn_rate=None, run_time=5)
    shape.configure(options=options)
    shape.runner = SimpleNamespace(environment=SimpleNamespace(parsed_options=options))  # type: ignore[assignment]
    options.num_users, options.spawn_rate = 1, 1.0
    options.scenario_stages = "10s:20"
    shape.reset_time()
    assert shape.plan.duration == 5
    assert shape.plan.peak == pytest.approx(10)
    options.scenario_stages = "nonsense"
    shape.reset_time()
    assert shape.plan.peak == pytest.approx(10)  # an invalid edit keeps the previous plan
