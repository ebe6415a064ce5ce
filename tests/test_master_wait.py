"""How long a worker waits for its master: --scenario-master-wait and --scenario-master-retry-interval
set Locust's connect retry limit while the options are parsed (a worker connects before `init`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from locust import runners
from locust.argument_parser import get_parser

import locust_scenarios  # noqa: F401  # registers the options on Locust's parser
from locust_scenarios import ExitCode


@pytest.fixture
def locust_limits() -> Iterator[None]:
    """Restores Locust's connect constants after the test."""
    saved = runners.CONNECT_RETRY_COUNT, runners.CONNECT_TIMEOUT
    yield
    runners.CONNECT_RETRY_COUNT, runners.CONNECT_TIMEOUT = saved


@pytest.mark.usefixtures("locust_limits")
def test_wait_sets_the_retry_limit_from_the_command_line() -> None:
    """400 s at Locust's 5 s interval: 80 attempts (79 retries), instead of Locust's 61 (about 305 s)."""
    assert (runners.CONNECT_RETRY_COUNT + 1) * runners.CONNECT_TIMEOUT == 305
    options = get_parser().parse_args(["--scenario-master-wait", "6m40s"])
    assert options.scenario_master_wait == 400
    assert (runners.CONNECT_RETRY_COUNT, runners.CONNECT_TIMEOUT) == (79, 5)


@pytest.mark.usefixtures("locust_limits")
def test_wait_and_interval_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables work as the options do, in either order: 45 s at 0.5 s is 90 attempts."""
    monkeypatch.setenv("LOCUST_SCENARIO_MASTER_WAIT", "45")
    monkeypatch.setenv("LOCUST_SCENARIO_MASTER_RETRY_INTERVAL", "500ms")
    get_parser().parse_args([])
    assert (runners.CONNECT_RETRY_COUNT, runners.CONNECT_TIMEOUT) == (89, 0.5)


@pytest.mark.usefixtures("locust_limits")
def test_without_the_options_locust_keeps_its_limits() -> None:
    """Nothing given: Locust's own constants stay."""
    before = runners.CONNECT_RETRY_COUNT, runners.CONNECT_TIMEOUT
    get_parser().parse_args([])
    assert before == (runners.CONNECT_RETRY_COUNT, runners.CONNECT_TIMEOUT)


@pytest.mark.usefixtures("locust_limits")
@pytest.mark.parametrize(
    ("option", "value"), [("--scenario-master-wait", "soon"), ("--scenario-master-retry-interval", "0")]
)
def test_bad_values_exit_2_in_one_line(option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A value that is no duration (or a zero interval) exits 2 with one line naming the variable, the
    value and the option."""
    with pytest.raises(SystemExit) as exited:
        get_parser().parse_args([option, value])
    assert exited.value.code == ExitCode.INVALID_CONFIG
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    variable = "LOCUST_" + option.removeprefix("--").replace("-", "_").upper()
    assert f"invalid setting {variable}={value!r} ({option})" in err
