"""Settings: duration and ratio parsing, the precedence contract, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from locust.argument_parser import get_parser

import locust_scenarios  # noqa: F401  (registers the options on Locust's parser)
from locust_scenarios.settings import (
    ExporterSettings,
    ScenarioSettings,
    SettingsError,
    format_duration,
    load_settings,
    parse_duration,
    parse_ratio,
    unknown_variable_warnings,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("90s", 90), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("1.5s", 1.5), ("42", 42), (7, 7)],
)
def test_parse_duration_accepts_the_documented_spellings(text: str | int, seconds: float) -> None:
    """Durations accept ms, s, m, h, d, combinations and plain seconds."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5x", "m5", "1h 30", "-3s", "five", "1h30mx", True])
def test_parse_duration_rejects_anything_else(text: object) -> None:
    """Anything that is not a duration is refused with the allowed spellings in the message."""
    with pytest.raises(ValueError, match="500ms, 90s, 5m"):
        parse_duration(text)


def test_format_duration_round_trips() -> None:
    """format_duration writes what parse_duration reads back."""
    for seconds in (0.25, 1, 59, 60, 90, 3600, 5400, 86400 + 1):
        assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)


def test_parse_ratio_accepts_percent_and_fraction() -> None:
    """Ratios are written as 5% or 0.05; out-of-range values fail."""
    assert parse_ratio("5%") == pytest.approx(0.05)
    assert parse_ratio("0.25") == pytest.approx(0.25)
    with pytest.raises(ValueError, match="between"):
        parse_ratio("150%")


def _parse(args: list[str], config: Path | None = None) -> object:
    parser = get_parser(default_config_files=[str(config)] if config else [])
    return parser.parse_args(["-f", "locustfile.py", *args])


def test_precedence_command_line_env_config_dotenv_class_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Command line > environment > locust.conf > .env > class attribute > default, field by field."""
    config = tmp_path / "locust.conf"
    config.write_text("scenario-users = 30\nscenario-duration = 3m\nscenario-ramp-up = 30s\n")
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "LOCUST_SCENARIO_USERS=40\nLOCUST_SCENARIO_DURATION=4m\nLOCUST_SCENARIO_RAMP_UP=40s\n"
        "LOCUST_SCENARIO_RAMP_DOWN=45s\nLOCUST_SCENARIO_HOLD=50s\n"
    )
    monkeypatch.setenv("LOCUST_SCENARIO_USERS", "20")
    monkeypatch.setenv("LOCUST_SCENARIO_DURATION", "2m")
    options = _parse(["--scenario-users", "10"], config)
    class_defaults = {"users": 50, "duration": "5m", "ramp_up": "50s", "ramp_down": "55s", "hold": "60s", "steps": 6}

    settings = load_settings(ScenarioSettings, options, class_defaults, env_file=str(dotenv))

    assert settings.users == 10  # command line
    assert settings.duration == 120  # environment
    assert settings.ramp_up == 30  # locust.conf
    assert settings.ramp_down == 45  # .env
    assert settings.hold == 50  # .env beats the class attribute
    assert settings.steps == 6  # class attribute
    assert settings.spawn_rate is None  # default


def test_scenario_name_reads_the_bare_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """LOCUST_SCENARIO (no suffix) and --scenario choose the profile; the command line wins."""
    monkeypatch.setenv("LOCUST_SCENARIO", "spike")
    assert load_settings(ScenarioSettings, _parse([]), env_file=None).scenario == "spike"
    assert load_settings(ScenarioSettings, _parse(["--scenario", "stress"]), env_file=None).scenario == "stress"


def test_invalid_value_error_is_one_line_naming_variable_value_and_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad value fails with one line: the variable, the option, the value and what is allowed."""
    monkeypatch.setenv("LOCUST_SCENARIO_USERS", "-3")
    with pytest.raises(SettingsError) as caught:
        load_settings(ScenarioSettings, _parse([]), env_file=None)
    message = str(caught.value)
    assert "\n" not in message
    assert "LOCUST_SCENARIO_USERS='-3'" in message
    assert "--scenario-users" in message
    assert "greater than or equal to 1" in message


def test_invalid_class_attribute_is_named_as_such() -> None:
    """A bad class attribute is reported as the class attribute it is."""
    with pytest.raises(SettingsError, match="class attribute users"):
        load_settings(ScenarioSettings, None, {"users": 0}, env_file=None)


def test_exporter_settings_use_their_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    """--prometheus-port and LOCUST_PROMETHEUS_PORT reach ExporterSettings; bad ports are refused."""
    monkeypatch.setenv("LOCUST_PROMETHEUS_PORT", "9646")
    assert load_settings(ExporterSettings, _parse([]), env_file=None).port == 9646
    with pytest.raises(SettingsError, match="LOCUST_PROMETHEUS_PORT='70000'"):
        load_settings(ExporterSettings, _parse(["--prometheus-port", "70000"]), env_file=None)


def test_unknown_variable_gets_the_closest_known_name() -> None:
    """A typo in a LOCUST_SCENARIO_* variable is reported with the closest known variable."""
    warnings = unknown_variable_warnings({"LOCUST_SCENARIO_USRES": "5", "LOCUST_SCENARIO": "load", "PATH": "/"})
    assert warnings == ["unknown variable LOCUST_SCENARIO_USRES is ignored; did you mean LOCUST_SCENARIO_USERS?"]


def test_service_link_variables_are_not_typos() -> None:
    """Kubernetes' service-link variables of a Service named locust-scenarios... draw no warning, while
    a typo next to them still does."""
    links = {
        "LOCUST_SCENARIOS_SERVICE_HOST": "10.96.0.10",
        "LOCUST_SCENARIOS_SERVICE_PORT": "5557",
        "LOCUST_SCENARIOS_SERVICE_PORT_MASTER_P1": "5557",
        "LOCUST_SCENARIOS_PORT": "tcp://10.96.0.10:5557",
        "LOCUST_SCENARIOS_PORT_5557_TCP": "tcp://10.96.0.10:5557",
        "LOCUST_SCENARIOS_CONFIG_METRICS_PORT_9646_TCP_ADDR": "10.96.0.11",
    }
    assert unknown_variable_warnings({**links, "LOCUST_SCENARIO_USRES": "5"}) == [
        "unknown variable LOCUST_SCENARIO_USRES is ignored; did you mean LOCUST_SCENARIO_USERS?"
    ]


def test_secret_options_stay_out_of_the_web_ui() -> None:
    """The auth token option is registered but hidden from Locust's web UI form."""
    parser = get_parser(default_config_files=[])
    shown = parser.args_included_in_web_ui
    assert "scenario_users" in shown
    assert "scenario_auth_token" not in shown
