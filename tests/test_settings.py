"""Settings: duration and ratio parsing, the precedence contract, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from locust.argument_parser import get_parser

import locust_scenarios  # also registers the options on Locust's parser
from locust_scenarios import ExporterSettings, ScenarioSettings, SettingsError, parse_duration
from locust_scenarios._settings.models import load_settings
from locust_scenarios._settings.options import format_duration, install_hint, parse_ratio, unknown_variable_warnings


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


@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        ("LOCUST_SCENARIO_USERS", "many", "must be a whole number"),
        ("LOCUST_SCENARIO_USERS", "200000", "must be less than or equal to 100000"),
        ("LOCUST_SCENARIO_RATE", "0", "must be greater than 0"),
        ("LOCUST_SCENARIO_RATE", "inf", "must be a finite number"),
        ("LOCUST_SCENARIO_ABORT_ON_FAIL", "perhaps", "must be true or false"),
        ("LOCUST_SCENARIO_DURATION", "soon", "must be a duration such as 500ms"),
    ],
)
def test_pydantic_errors_become_rules_by_their_type(
    variable: str, value: str, rule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each kind of pydantic error reads as a rule of ours (from its type and context), not as
    pydantic's English: no "Input should be" and no "Value error,"."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(ScenarioSettings, _parse([]), env_file=None)
    message = str(caught.value)
    assert message.startswith(f"invalid setting {variable}={value!r} (")
    assert f"): {rule}" in message
    assert "Input should" not in message
    assert "Value error" not in message


def test_the_invalid_setting_sentence_is_built_in_one_place() -> None:
    """Every refusal of a setting goes through SettingsError.invalid: the words are written once in src."""
    source = Path(locust_scenarios.__file__).parent
    found = [
        path.relative_to(source).as_posix()
        for path in source.rglob("*.py")
        for line in path.read_text().splitlines()
        if '"invalid setting ' in line or 'f"invalid setting ' in line
    ]
    assert found == ["_settings/errors.py"]


def test_a_secret_value_is_never_shown_in_a_refusal() -> None:
    """A token that is not printable ASCII is refused naming the variable, never echoing the value."""
    with pytest.raises(SettingsError) as caught:
        load_settings(ScenarioSettings, {"scenario_auth_token": "secret value\n"}, env_file=None)
    message = str(caught.value)
    assert "LOCUST_SCENARIO_AUTH_TOKEN=<hidden> (--scenario-auth-token)" in message
    assert "secret value" not in message


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


def test_start_up_settings_stay_out_of_the_web_ui() -> None:
    """Paths the run reads or writes, the token's origins and the record's options are start-up
    settings: Locust's form does not offer them; the form offers exactly FORM_FIELDS."""
    from locust_scenarios._settings.options import FORM_FIELDS, SCENARIO, option_dest  # noqa: PLC0415

    shown = get_parser(default_config_files=[]).args_included_in_web_ui
    for field in ("endpoints", "auth_origins", "summary", "record", "report", "record_log", "tags", "baseline_record"):
        assert field not in FORM_FIELDS
        assert option_dest(SCENARIO, field) not in shown
    assert {key for key in shown if key.startswith("scenario")} == {option_dest(SCENARIO, f) for f in FORM_FIELDS}


@pytest.mark.parametrize("text", ["\uff15s", "\u0665s", "1\u0660m", "\u0967\u0966s"])
def test_durations_and_ratios_take_ascii_digits_only(text: str) -> None:
    """Full-width, Arabic-Indic and Devanagari digits, which Python's float() reads, are refused."""
    with pytest.raises(ValueError, match="ASCII digits"):
        parse_duration(text)
    with pytest.raises(ValueError, match="ASCII digits"):
        parse_ratio(text.replace("s", "%").replace("m", "%"))


def test_yes_no_options_work_as_flags_or_with_a_value() -> None:
    """``--scenario-record-log`` alone means yes; ``--scenario-trust off`` still takes its value."""
    from locust_scenarios._settings.options import environment_options  # noqa: PLC0415

    options = environment_options(["--scenario-record-log", "--scenario-abort-on-fail", "--scenario-trust", "off"])
    settings = load_settings(ScenarioSettings, options)
    assert (settings.record_log, settings.abort_on_fail, settings.trust) == (True, True, False)


def test_auth_origins_need_a_scheme_and_a_pushgateway_is_a_url() -> None:
    """An origin without a scheme would never match a request: refused, naming the entry; '*' and
    scheme://host[:port] entries pass. A Pushgateway that is not an http(s) URL is refused at start."""
    ok = load_settings(ScenarioSettings, {"scenario_auth_origins": "https://a.example.com, http://127.0.0.1:81,*"})
    assert ok.auth_origins is not None
    with pytest.raises(SettingsError, match=r"'a\.example\.com' is not an origin: write each as scheme://host"):
        load_settings(ScenarioSettings, {"scenario_auth_origins": "https://b.example.com,a.example.com"})
    assert load_settings(ExporterSettings, {"prometheus_pushgateway": "http://pg:9091"}).pushgateway == "http://pg:9091"
    for bad in ("pg:9091", "ftp://pg", "http://", "http://pg:99999"):
        with pytest.raises(SettingsError, match=r"LOCUST_PROMETHEUS_PUSHGATEWAY=.*must be a URL starting with http"):
            load_settings(ExporterSettings, {"prometheus_pushgateway": bad})


def test_option_table_matches_the_settings_models() -> None:
    """The pydantic-free option table lists every model field, in order, with its help and secrecy,
    and then only the worker's patience options, which no model holds (they apply while parsing).

    Locust registers our options from that table before pydantic is loaded, so a field added to a
    model without its row (or the other way round) would be an option that cannot be set.
    """
    import typing  # noqa: PLC0415

    from pydantic import SecretStr  # noqa: PLC0415

    from locust_scenarios._settings.options import OPTIONS, WORKER  # noqa: PLC0415

    derived = [
        (model.options, field, info.description, SecretStr in typing.get_args(info.annotation))
        for model in (ScenarioSettings, ExporterSettings)
        for field, info in model.model_fields.items()
    ]
    table = [(option.group, option.field, option.help, option.secret) for option in OPTIONS]
    assert table[: len(derived)] == derived
    assert [(group, field) for group, field, *_ in table[len(derived) :]] == [
        (WORKER, "master_wait"),
        (WORKER, "master_retry_interval"),
    ]


def test_importing_the_package_loads_neither_pydantic_nor_prometheus_client() -> None:
    """`import locust_scenarios` registers the options without pydantic or prometheus_client.

    Every Locust process (workers, CLI calls) imports the package; those libraries load where they
    are used: pydantic when settings are validated at init, prometheus_client for a registry or a push.
    The settings models still resolve on first use from the package namespace.
    """
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = (
        "import sys, locust, locust_scenarios\n"
        "from locust.argument_parser import get_parser\n"
        "parser = get_parser()\n"
        "assert any(a.dest == 'scenario_users' for a in parser._actions), 'options not registered'\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_settings', "
        "'prometheus_client'))\n"
        "print(loaded)\n"
        "print(locust_scenarios.ScenarioSettings.__name__, 'pydantic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.splitlines() == ["[]", "ScenarioSettings True"]


def test_near_misses_of_our_prefixes_are_warned_about() -> None:
    """LOCUST_SENARIO and LOCUST_PROMETEUS_LINGER get a warning with the right name; Locust's own
    variables (LOCUST_HOST, LOCUST_USERS) are left alone."""
    environ = {"LOCUST_SENARIO": "smoke", "LOCUST_PROMETEUS_LINGER": "5s", "LOCUST_HOST": "x", "LOCUST_USERS": "3"}
    warnings = unknown_variable_warnings(environ)
    assert len(warnings) == 2
    assert any("LOCUST_SENARIO" in w and "did you mean LOCUST_SCENARIO?" in w for w in warnings)
    assert any("did you mean LOCUST_PROMETHEUS_LINGER?" in w for w in warnings)


def test_profile_choice_is_offered_but_checked_by_our_validation() -> None:
    """The scenario option lists the profiles as choices (the web UI's select) while any value still
    parses, so that a typo reaches our one-line message rather than argparse's."""
    parser = get_parser()
    action = next(a for a in parser._actions if a.dest == "scenario")
    assert list(action.choices or [])[:3] == ["smoke", "load", "stress"]
    assert parser.parse_args(["--scenario", "strees"]).scenario == "strees"


def test_install_hint_names_checkout_and_wheel() -> None:
    """A hint naming an extra also says how to get it from a checkout or a built wheel."""
    hint = install_hint("plot")
    assert "'locust-scenarios[plot]'" in hint
    assert "'.[plot]'" in hint
    assert ".whl[plot]" in hint
