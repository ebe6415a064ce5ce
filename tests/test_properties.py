"""Property-based tests: every parser of user input either returns a valid result or refuses with one
line (``ValueError``/``SettingsError``), never a traceback of another kind; the token is never echoed.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from locust_scenarios import (
    Endpoint,
    ExporterSettings,
    ScenarioSettings,
    SettingsError,
    load_endpoints,
    parse_duration,
    parse_stages,
)
from locust_scenarios._exporter.buckets import parse_buckets
from locust_scenarios._settings.models import load_settings
from locust_scenarios._settings.options import MAX_DURATION
from locust_scenarios._thresholds.grammar import parse as parse_thresholds

PATIENT = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that looks like what people paste: units, digits, separators, operators, and any unicode.
_ALPHABET = string.digits + "msdh.,:-+<>=%[]() e_pPfailrtqu\n\t\r" + "\x00é∞\ud800"
near_miss = st.text(alphabet=_ALPHABET, max_size=40)
any_text = st.one_of(near_miss, st.text(max_size=60))


def _attempt(parse: Callable[..., Any], *args: Any) -> tuple[Any, str | None]:
    """``(result, None)``, or ``(None, message)`` when ``parse`` refused with a ValueError (SettingsError)."""
    try:
        return parse(*args), None
    except ValueError as error:
        return None, str(error)


def _one_line(message: str) -> str:
    assert "\n" not in message, message
    assert "\r" not in message, message
    assert message.strip(), "an empty message"
    assert len(message) < 2000
    return message


@PATIENT
@given(any_text)
def test_durations_parse_or_refuse_in_one_line(text: str) -> None:
    """parse_duration: a finite number of seconds in [0, 366d], or a one-line ValueError."""
    seconds, refused = _attempt(parse_duration, text)
    if refused is not None:
        _one_line(refused)
    else:
        assert math.isfinite(seconds)
        assert 0 <= seconds <= MAX_DURATION


@PATIENT
@given(st.one_of(any_text, st.lists(near_miss, max_size=5).map(",".join)))
def test_thresholds_parse_or_refuse_in_one_line(text: str) -> None:
    """Threshold expressions: parsed criteria with finite limits, or a one-line SettingsError."""
    parsed, refused = _attempt(parse_thresholds, text)
    if refused is not None:
        assert _one_line(refused).startswith("invalid setting LOCUST_SCENARIO_THRESHOLDS=")
    else:
        assert all(math.isfinite(threshold.limit) for threshold in parsed)


_stage = st.tuples(
    st.one_of(st.integers(0, 10**7).map(str), st.floats().map(repr), near_miss),
    st.sampled_from(["", "ms", "s", "m", "h", "d"]),
    st.one_of(st.integers(-5, 10**7).map(str), st.floats().map(repr), near_miss),
).map(lambda parts: f"{parts[0]}{parts[1]}:{parts[2]}")
stage_lists = st.lists(_stage, min_size=1, max_size=5).map(",".join)


@PATIENT
@given(st.one_of(any_text, stage_lists))
def test_stages_parse_or_refuse_in_one_line(text: str) -> None:
    """Stages: finite, bounded stages, or a one-line ValueError."""
    stages, refused = _attempt(parse_stages, text)
    if refused is not None:
        _one_line(refused)
    else:
        assert stages
        assert all(math.isfinite(s.duration) and 0 <= s.target <= 1_000_000 for s in stages)


@PATIENT
@given(st.one_of(any_text, st.lists(near_miss, max_size=6).map(",".join)))
def test_buckets_parse_or_refuse_in_one_line(text: str) -> None:
    """Buckets: increasing positive bounds, or a one-line SettingsError naming the variable."""
    bounds, refused = _attempt(parse_buckets, text)
    if refused is not None:
        assert _one_line(refused).startswith("invalid setting LOCUST_PROMETHEUS_BUCKETS=")
    else:
        assert all(bound > 0 for bound in bounds)
        assert list(bounds) == sorted(set(bounds))


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
_random_entries = st.dictionaries(
    st.sampled_from(["method", "path", "weight", "status", "headers", "json", "name", "budget", "other"]),
    json_values,
    max_size=6,
)
_plausible_entries = st.fixed_dictionaries(
    {"path": st.text(max_size=20).map(lambda text: "/" + text)},
    optional={
        "method": st.sampled_from(["GET", "post", "PUT", "BREW", ""]),
        "weight": st.one_of(st.floats(), st.integers()),
        "status": st.one_of(st.integers(0, 1000), st.lists(st.integers(0, 1000), max_size=3)),
        "headers": st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=2),
        "json": json_values,
        "name": st.text(max_size=20),
        "budget": st.one_of(near_miss, st.floats()),
    },
)
endpoint_entries = st.one_of(_random_entries, _plausible_entries)


@PATIENT
@given(st.one_of(st.lists(endpoint_entries, max_size=4), json_values))
def test_inline_endpoints_load_or_refuse_in_one_line(document: object) -> None:
    """Inline JSON endpoints of any shape: validated endpoints, or a one-line SettingsError."""
    try:
        text = json.dumps(document)
    except ValueError:
        return  # not representable as JSON text
    endpoints, refused = _attempt(load_endpoints, text if text.startswith(("[", "{")) else f"[{text}]")
    if refused is not None:
        assert _one_line(refused).startswith("invalid setting LOCUST_SCENARIO_ENDPOINTS=")
    else:
        assert all(isinstance(endpoint, Endpoint) and endpoint.weight > 0 for endpoint in endpoints)
        assert math.isfinite(sum(endpoint.weight for endpoint in endpoints))


@PATIENT
@given(st.dictionaries(st.text(max_size=12), st.text(max_size=20), min_size=1, max_size=3))
def test_headers_with_control_characters_never_load(headers: dict[str, str]) -> None:
    """Endpoint headers: accepted only when a request can carry them unchanged (no CR, LF, NUL)."""
    endpoints, refused = _attempt(load_endpoints, [{"path": "/", "headers": headers}])
    if refused is not None:
        _one_line(refused)
    else:
        for name, value in endpoints[0].headers.items():
            assert name
            assert all(c.isascii() and c.isprintable() and c not in " :" for c in name)
            assert not any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value)


scenario_fields = st.sampled_from(sorted(set(ScenarioSettings.model_fields) - {"auth_token"}))
exporter_fields = st.sampled_from(sorted(ExporterSettings.model_fields))


@PATIENT
@given(scenario_fields, any_text)
def test_scenario_settings_load_or_refuse_in_one_line(field: str, value: str) -> None:
    """Any value of any scenario setting: valid settings, or one line naming the variable."""
    option = f"scenario_{field}" if field != "scenario" else "scenario"
    _, refused = _attempt(load_settings, ScenarioSettings, {option: value})
    if refused is not None:
        assert "LOCUST_SCENARIO" in _one_line(refused)


@PATIENT
@given(exporter_fields, any_text)
def test_exporter_settings_load_or_refuse_in_one_line(field: str, value: str) -> None:
    """Any value of any exporter setting: valid settings, or one line naming the variable."""
    _, refused = _attempt(load_settings, ExporterSettings, {f"prometheus_{field}": value})
    if refused is not None:
        assert "LOCUST_PROMETHEUS_" in _one_line(refused)


@PATIENT
@given(st.text(min_size=4, max_size=40).map(lambda text: "tok-" + text))
def test_a_refused_token_is_never_echoed(token: str) -> None:
    """A token is accepted only as printable ASCII without spaces; a refusal never quotes it."""
    loaded, refused = _attempt(load_settings, ScenarioSettings, {"scenario_auth_token": token})
    if refused is not None:
        assert token not in _one_line(refused)
        assert "<hidden>" in refused
    else:
        assert loaded.auth_token is not None
        assert all(33 <= ord(c) <= 126 for c in loaded.auth_token.get_secret_value())


@pytest.mark.parametrize("token", ["s3cr3t-tok\n", "s3cr3t tok", "s3cr3t-tök", "s3cr3t\x00tok"])
def test_tokens_from_careless_secrets_are_refused(token: str) -> None:
    """The usual accidents (a newline from echo, a space, non-ASCII, NUL) are refused without echo."""
    with pytest.raises(SettingsError) as raised:
        load_settings(ScenarioSettings, {"scenario_auth_token": token})
    assert "s3cr3t" not in str(raised.value)
