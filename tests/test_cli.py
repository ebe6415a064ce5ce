"""The locust-scenarios command: preview (text, JSON, PNG) and list, as a user runs them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from .conftest import base_url, clean_env

SIX = ["smoke", "load", "stress", "spike", "endurance", "breakpoint"]


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m locust_scenarios ARGS`` with a clean LOCUST_* environment plus ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "locust_scenarios", *args],
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def test_preview_json_honours_users_from_the_environment() -> None:
    """LOCUST_SCENARIO_USERS=7 preview load --format json peaks at 7 users with a positive duration."""
    run = cli("preview", "load", "--format", "json", env={"LOCUST_SCENARIO_USERS": "7"})
    assert run.returncode == 0, run.stderr
    preview = json.loads(run.stdout)
    assert max(users for _, users in preview["points"]) == 7
    assert preview["duration_s"] > 0
    assert preview["stages"][0]["name"] == "ramp-up"


@pytest.mark.parametrize("profile", SIX)
def test_every_profile_previews_in_text_and_json(profile: str) -> None:
    """All six profiles preview as text (table, chart, total) and as JSON whose points end at duration_s."""
    text = cli("preview", profile)
    assert text.returncode == 0, text.stderr
    assert f"profile {profile}" in text.stdout
    assert "total duration" in text.stdout
    assert "┤" in text.stdout
    data = json.loads(cli("preview", profile, "--format", "json").stdout)
    assert data["scenario"] == profile
    assert data["points"][0] == [0.0, 0.0]
    assert data["points"][-1][0] == pytest.approx(data["duration_s"])


def test_preview_takes_options_like_a_run_and_the_command_line_wins() -> None:
    """Options after the profile apply as in a real run; -t caps; the command line beats the env."""
    run = cli(
        "preview", "spike", "--format", "json", "--scenario-users", "60", "-t", "90s",
        env={"LOCUST_SCENARIO_USERS": "500"},
    )  # fmt: skip
    data = json.loads(run.stdout)
    assert data["peak"] == 60
    assert data["duration_s"] == 90


def test_preview_reads_the_profile_from_locust_conf(tmp_path: Path) -> None:
    """Without a profile argument, preview reads LOCUST_SCENARIO from Locust's config file."""
    (tmp_path / "locust.conf").write_text("scenario = stress\nscenario-users = 12\n")
    data = json.loads(cli("preview", "--format", "json", cwd=tmp_path).stdout)
    assert (data["scenario"], data["peak"]) == ("stress", 12)


def test_preview_bad_value_exits_2_with_one_line() -> None:
    """A bad setting fails the preview with exit code 2 and a one-line message."""
    run = cli("preview", "load", env={"LOCUST_SCENARIO_DURATION": "soon"})
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0
    assert "LOCUST_SCENARIO_DURATION='soon'" in run.stderr


def test_preview_png_writes_a_picture(tmp_path: Path) -> None:
    """--format png --output writes a PNG file."""
    output = tmp_path / "spike.png"
    run = cli("preview", "spike", "--format", "png", "--output", str(output))
    assert run.returncode == 0, run.stderr
    assert output.read_bytes().startswith(b"\x89PNG")


def test_list_shows_profiles_parameters_and_settings() -> None:
    """list names every profile with its parameters' defaults and every setting's variable."""
    run = cli("list")
    assert run.returncode == 0, run.stderr
    for profile in SIX:
        assert f"\n{profile} " in f"\n{run.stdout}"
    assert "LOCUST_SCENARIO_USERS" in run.stdout
    assert "LOCUST_PROMETHEUS_PORT" in run.stdout
    assert "default 10m" in run.stdout


@pytest.mark.e2e
def test_demo_runs_against_its_own_target_and_exits_0() -> None:
    """locust-scenarios demo (the README's main command) serves its target, runs, prints the summary."""
    run = subprocess.run(
        [sys.executable, "-m", "locust_scenarios", "demo", "--duration", "8s"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Aggregated" in run.stderr  # Locust's own summary tables, through its stats logger
    assert "Response time percentiles" in run.stderr
    assert "the profile as followed" in run.stdout
    summary = re.fullmatch(r"(\d+) requests, (\d+) failed: ok", run.stdout.strip().splitlines()[-1])
    assert summary is not None, run.stdout[-500:]
    assert int(summary[1]) > 0
    assert int(summary[2]) == 0


@pytest.mark.e2e
def test_run_uses_the_built_in_locustfile(target: HTTPServer, tmp_path: Path) -> None:
    """locust-scenarios run passes everything to Locust with the config-driven user and selecting shape."""
    env = {
        "LOCUST_SCENARIO": "stages",
        "LOCUST_SCENARIO_STAGES": "1s:2,2s:2",
        "LOCUST_SCENARIO_ENDPOINTS": '[{"path": "/api/items", "weight": 1}]',
        "LOCUST_SCENARIO_THINK_TIME": "100ms",
    }
    run = cli("run", "--headless", "-H", base_url(target), "--json-file", str(tmp_path / "stats"), env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert [entry["name"] for entry in stats] == ["/api/items"]
    assert stats[0]["num_requests"] == len(target.log) > 0
