"""The redaction filter: a known secret never reaches a log handler's output."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from locust_scenarios import ScenarioSettings
from locust_scenarios._settings.models import load_settings
from locust_scenarios._settings.redaction import REDACTED, install_redaction, redact

SECRET = "tok-redaction-test-9f8e7d"  # noqa: S105 - a made-up token


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """A handler on the root logger writing to a buffer, removed afterwards."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    root.addHandler(handler)
    yield buffer
    root.removeHandler(handler)


def test_secret_is_redacted_from_log_lines_and_tracebacks(captured: io.StringIO) -> None:
    """Once installed, a log line or a logged exception holding the token shows <redacted> instead."""
    install_redaction(load_settings(ScenarioSettings, {"scenario_auth_token": SECRET}))
    logger = logging.getLogger("locust_scenarios.test")
    logger.error("header was Bearer %s", SECRET)
    try:
        raise ValueError(f"Invalid header value b'Bearer {SECRET}\\n'")
    except ValueError:
        logger.exception("request failed")
    output = captured.getvalue()
    assert SECRET not in output
    assert output.count(REDACTED) == 2
    assert redact(f"x {SECRET} y") == f"x {REDACTED} y"


def test_lines_without_a_secret_are_untouched(captured: io.StringIO) -> None:
    """Ordinary log lines pass through unchanged."""
    install_redaction(load_settings(ScenarioSettings, {}))
    logging.getLogger("locust_scenarios.test").error("plain %s", "message")
    assert captured.getvalue() == "plain message\n"
