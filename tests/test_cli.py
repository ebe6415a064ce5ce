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
    """locust-scenarios demo (the README's main command) serves its target, runs, prints the summary and
    ends with the next step to take."""
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
    lines = run.stdout.strip().splitlines()
    assert lines[-3].startswith("next: ")
    summary = re.fullmatch(r"(\d+) requests, (\d+) failed: ok", lines[-5])
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
    # A request still in flight when the run stops reaches the target but is not counted: at most one per user.
    assert 0 < stats[0]["num_requests"] <= len(target.log) <= stats[0]["num_requests"] + 2


EXAMPLES = Path(__file__).parent.parent / "examples"


def test_preview_follows_the_locustfile() -> None:
    """preview -f examples/custom_stages.py shows that file's own stages, as a run of it would follow."""
    run = cli("preview", "-f", str(EXAMPLES / "custom_stages.py"), "--format", "json")
    assert run.returncode == 0, run.stderr
    names = [stage["name"] for stage in json.loads(run.stdout)["stages"]]
    assert names[:3] == ["warm-up", "settle", "rise#1"]
    assert names[-1] == "ramp-down"


def test_preview_knows_profiles_registered_in_the_locustfile(tmp_path: Path) -> None:
    """A profile added with @register_profile in the locustfile previews by its name, with its defaults."""
    (tmp_path / "locustfile.py").write_text(
        "from locust_scenarios import LoadProfile, ScenarioShape, register_profile\n\n"
        "@register_profile('checkout-peak')\n"
        "class CheckoutPeak(LoadProfile):\n    abstract = True\n    users = 42\n    duration = '2m'\n\n"
        "class Shape(ScenarioShape):\n    pass\n"
    )
    run = cli("preview", "-f", "locustfile.py", "checkout-peak", "--format", "json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["peak"] == 42
    implicit = cli("preview", "checkout-peak", cwd=tmp_path)  # ./locustfile.py, Locust's default -f
    assert implicit.returncode == 0, implicit.stderr


def test_preview_reads_a_config_file(tmp_path: Path) -> None:
    """preview --config FILE reads the profile and its settings from that file, as a run does."""
    (tmp_path / "spike.conf").write_text("scenario = spike\nscenario-users = 40\n")
    run = cli("preview", "--config", "spike.conf", "--format", "json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["scenario"] == "spike"
    assert json.loads(run.stdout)["peak"] == 40


@pytest.mark.parametrize(("name", "kind"), [("plan.json", "json"), ("plan.txt", "text")])
def test_preview_output_implies_the_format(tmp_path: Path, name: str, kind: str) -> None:
    """--output plan.json writes JSON and --output plan.txt the text preview, without --format."""
    run = cli("preview", "smoke", "--output", str(tmp_path / name))
    assert run.returncode == 0, run.stderr
    written = (tmp_path / name).read_text()
    assert json.loads(written)["scenario"] == "smoke" if kind == "json" else written.startswith("profile smoke")


def test_preview_output_with_an_unknown_extension_is_refused(tmp_path: Path) -> None:
    """--output x.svg without --format exits 2 instead of writing nothing."""
    run = cli("preview", "smoke", "--output", str(tmp_path / "x.svg"))
    assert run.returncode == 2
    assert "--format" in run.stderr


def test_preview_into_a_closed_pipe_has_no_traceback() -> None:
    """preview stress | head -1: the closed pipe ends the command quietly."""
    shell = f"{sys.executable} -m locust_scenarios preview stress | head -1"
    run = subprocess.run(["sh", "-c", shell], env=clean_env(), capture_output=True, text=True, timeout=60, check=False)
    assert run.stdout.startswith("profile stress")
    assert "Traceback" not in run.stderr
    assert "BrokenPipe" not in run.stderr


def test_preview_warns_about_misspelt_variables_and_suggests_profiles() -> None:
    """A misspelt LOCUST_SENARIO is named with the right spelling, and a profile typo gets a suggestion."""
    run = cli("preview", "strees", env={"LOCUST_SENARIO": "smoke"})
    assert run.returncode == 2
    assert "LOCUST_SENARIO" in run.stderr
    assert "did you mean LOCUST_SCENARIO?" in run.stderr
    assert "did you mean stress?" in run.stderr


def test_smoke_too_short_does_not_blame_a_ramp_down() -> None:
    """smoke has no ramp-down, so a too short duration names the ramp-up and the duration only."""
    run = cli("preview", "smoke", "--scenario-duration", "3s")
    assert run.returncode == 2
    assert "RAMP_UP" in run.stderr
    assert "RAMP_DOWN" not in run.stderr
