"""The CI recipes: valid against GitHub's and GitLab's schemas, clean under zizmor, every action pinned, and
their shell steps run here as the CI would run them, against the demo target on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import REPO, clean_env, free_port

ACTION = REPO / ".github" / "actions" / "run-scenario" / "action.yml"
WORKFLOWS = (*sorted((REPO / ".github" / "workflows").glob("*.yml")), REPO / "examples" / "ci" / "github-actions.yml")
GITLAB = REPO / "examples" / "ci" / "gitlab-ci.yml"
GITHUB_FILES = (ACTION, *WORKFLOWS)
ENDPOINTS = REPO / "examples" / "endpoints.toml"
SHORT_RUN = {"LOCUST_SCENARIO_RAMP_UP": "1s", "LOCUST_SCENARIO_THINK_TIME": "100ms"}


def tool(name: str) -> str:
    """A command installed in this virtual environment (check-jsonschema, zizmor)."""
    return str(Path(sys.executable).parent / name)


def check_schema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with one of its bundled schemas, offline."""
    return subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", schema, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def zizmor(*paths: Path) -> list[dict[str, Any]]:
    """zizmor's findings of high severity, offline, as JSON."""
    run = subprocess.run(
        [tool("zizmor"), "--offline", "--min-severity", "high", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.stdout.strip(), run.stderr
    findings: list[dict[str, Any]] = json.loads(run.stdout)
    return findings


@pytest.mark.parametrize(
    ("schema", "paths"),
    [
        ("vendor.github-actions", (ACTION,)),
        ("vendor.github-workflows", WORKFLOWS),
        ("vendor.gitlab-ci", (GITLAB,)),
    ],
    ids=["action", "workflows", "gitlab"],
)
def test_recipes_validate_against_the_bundled_schemas(schema: str, paths: tuple[Path, ...]) -> None:
    """The composite action, every workflow (the repository's and the example) and the GitLab recipe
    validate against check-jsonschema's bundled schemas."""
    run = check_schema(schema, *paths)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_schema_check_refuses_a_broken_workflow(tmp_path: Path) -> None:
    """The schema check can fail: a step that both runs a script and uses an action is refused."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: x\n        uses: a/b@c\n"
    )
    assert check_schema("vendor.github-workflows", broken).returncode != 0


def test_zizmor_finds_nothing_of_high_severity() -> None:
    """zizmor audits the workflows, the composite action and the example workflow offline: no high finding."""
    assert zizmor(*GITHUB_FILES) == []


def test_zizmor_flags_an_action_pinned_to_a_tag(tmp_path: Path) -> None:
    """The audit can fail: ``actions/checkout@v4`` (a movable tag) is a high-severity finding."""
    workflow = tmp_path / "unpinned.yml"
    workflow.write_text(
        "on: push\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n        with:\n          persist-credentials: false\n"
    )
    assert {finding["ident"] for finding in zizmor(workflow)} == {"unpinned-uses"}


def test_every_action_is_pinned_to_one_commit_with_its_version_beside_it() -> None:
    """Each third-party ``uses:`` names a full commit SHA followed by a ``# vX.Y.Z`` comment, and an action
    is pinned to the same commit everywhere."""
    pins: dict[str, set[str]] = {}
    for path in GITHUB_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            used = re.search(r"uses: (\S+)", line)
            if used is None or used[1].startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", used[1]), (path.name, line)
            assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), (path.name, line)
            action, sha = used[1].split("@")
            pins.setdefault(action, set()).add(sha)
    assert {"actions/checkout", "actions/upload-artifact", "pypa/gh-action-pypi-publish"} <= set(pins)
    assert all(len(shas) == 1 for shas in pins.values()), pins


def test_no_recipe_depends_on_a_release_that_does_not_exist_yet() -> None:
    """No recipe runs ``pip install locust-scenarios``: the action installs from its own repository revision
    by default, the GitLab recipe from a source it is given or a committed wheel."""
    for path in (*GITHUB_FILES, GITLAB):
        assert not re.search(r"pip install\s+(-\S+\s+)*['\"]?locust-scenarios\b", path.read_text()), path.name
    spec = yaml.safe_load(ACTION.read_text())
    assert spec["inputs"]["source"]["default"] == "action"
    assert yaml.safe_load(GITLAB.read_text())["load-test"]["variables"]["LOCUST_SCENARIOS_SOURCE"] == ""


_EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


@dataclass
class CompositeAction:
    """Runs a composite action's ``run:`` steps as a GitHub runner would: ``bash -eo pipefail``, the step's
    ``env:`` with its expressions filled in, ``GITHUB_OUTPUT`` read back into ``steps.<id>.outputs``.

    Steps that use other actions (artifact upload and download) cannot run here: they are recorded with
    their ``with:`` filled in. Every process a step leaves running (the service) is stopped by ``stop()``.
    """

    path: Path
    workspace: Path
    contexts: dict[str, str]
    env: dict[str, str]
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    sessions: list[int] = field(default_factory=list)

    def run(self, inputs: Mapping[str, str], skip: tuple[str, ...] = (), only: tuple[str, ...] = ()) -> dict[str, Any]:
        """Run the steps with ``inputs`` (all, or ``only`` those ids, but not those in ``skip``); the result
        of each by step name."""
        spec = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        unknown = set(inputs) - set(spec["inputs"])
        assert not unknown, unknown
        defaults = {name: str(value.get("default", "")) for name, value in spec["inputs"].items()}
        self.inputs = dict(inputs)
        self.inputs = {name: self.expand(value) for name, value in defaults.items()} | dict(inputs)
        summary = self.workspace / "step-summary.md"
        results: dict[str, Any] = {}
        failed = False
        for step in spec["runs"]["steps"]:
            if step.get("id") in skip or (only and step.get("id") not in only):
                continue
            if failed and step.get("if") != "always()":
                continue  # after a failed step only `if: always()` steps run
            if "uses" in step:
                results[step["name"]] = {key: self.expand(str(value)) for key, value in step.get("with", {}).items()}
                continue
            assert step.get("if", "always()") == "always()", step["name"]
            results[step["name"]] = self._run_step(step, summary)
            failed = failed or results[step["name"]].returncode != 0
        return results

    def _run_step(self, step: dict[str, Any], summary: Path) -> subprocess.CompletedProcess[str]:
        output = self.workspace / "github-output"
        output.write_text("")
        env = {
            **self.env,
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_REPOSITORY": "owner/project",
            **{name: self.expand(str(value)) for name, value in step.get("env", {}).items()},
        }
        script = self.workspace / "step.sh"
        script.write_text(step["run"])
        process = subprocess.Popen(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.sessions.append(process.pid)
        stdout, _ = process.communicate(timeout=900)
        lines = output.read_text().splitlines()
        self.outputs[step.get("id", step["name"])] = dict(line.split("=", 1) for line in lines if "=" in line)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, "")

    def expand(self, text: str) -> str:
        """``text`` with each ``${{ ... }}`` replaced by its value."""
        return _EXPRESSION.sub(lambda match: self._value(match[1]), text)

    def _value(self, expression: str) -> str:
        if expression.startswith("inputs."):
            return self.inputs[expression.removeprefix("inputs.")]
        output = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
        if output:
            return self.outputs.get(output[1], {}).get(output[2], "")
        return self.contexts[expression]

    def stop(self) -> None:
        """End what the steps left running: each step ran in a session of its own."""
        for session in self.sessions:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(session, signal.SIGTERM)


@pytest.fixture
def action(tmp_path: Path) -> Iterator[CompositeAction]:
    """The run-scenario action in a fresh workspace, as a workflow in this repository would use it."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    runner = CompositeAction(
        path=ACTION,
        workspace=workspace,
        contexts={
            "github.action_path": str(ACTION.parent),
            "github.token": "",
            "github.workflow_ref": "owner/project/.github/workflows/load-test.yml@refs/heads/main",
            "runner.temp": str(tmp_path / "runner-temp"),
        },
        env=clean_env(SHORT_RUN),
    )
    yield runner
    runner.stop()


def test_the_action_refuses_to_install_from_a_folder_that_is_not_the_project(action: CompositeAction) -> None:
    """``source: action`` from a copy of the action outside a locust-scenarios repository stops the install
    with one error line and exit code 2, before any load."""
    copy = action.workspace / "elsewhere" / ".github" / "actions" / "run-scenario"
    copy.mkdir(parents=True)
    action.contexts["github.action_path"] = str(copy)
    (result,) = action.run({"host": "http://127.0.0.1:9"}, only=("install",)).values()
    assert result.returncode == 2
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error::")]
    refusal = f"invalid input source='action': {copy.parents[2]} is not a locust-scenarios repository"
    assert errors == [f"::error::{refusal}; give a wheel, a directory or a package version"]


@pytest.mark.e2e
def test_the_action_runs_a_profile_reports_it_compares_and_fails_on_the_verdict(action: CompositeAction) -> None:
    """With its default source the action installs the package from its own repository, starts the demo
    target, runs a smoke profile, writes the verdict to the job summary and the record, HTML report, JUnit
    and Markdown into the results; a second run with a failing threshold, compared with the first, ends
    the step with exit code 3."""
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    common = {"host": host, "scenario": "smoke", "users": "2", "duration": "4s", "endpoints": str(ENDPOINTS)}

    first = action.run({**common, "service": f"locust-scenarios target --port {port}", "results": "first",
                        "thresholds": "fail_ratio<1%"})  # fmt: skip
    for name, result in first.items():
        if isinstance(result, subprocess.CompletedProcess):
            assert result.returncode == 0, (name, result.stdout[-3000:])
    assert action.outputs["run"]["exit-code"] == "0"
    results = action.workspace / "first"
    for name in ("record.json", "report.html", "junit.xml", "summary.md", "locust.log", "service.log"):
        assert (results / name).is_file(), name
    assert 'name="fail_ratio&lt;1%"' in (results / "junit.xml").read_text()
    summary = (action.workspace / "step-summary.md").read_text()
    assert (results / "summary.md").read_text() in summary
    assert first["Upload the results"]["path"] == "first"
    assert "exit-code" not in action.outputs["compare"]

    second = action.run(
        {**common, "results": "second", "thresholds": "rps>100000", "baseline-record": "first/record.json"},
        skip=("install",),
    )
    assert action.outputs["run"]["exit-code"] == "3"
    assert action.outputs["compare"]["exit-code"] in {"0", "3"}
    assert (action.workspace / "second" / "compare.md").is_file()
    verdict = second["Fail on the verdict"]
    assert verdict.returncode == 3
    assert "::error::the load test failed with exit code 3" in verdict.stdout


def gitlab_job() -> tuple[dict[str, str], str]:
    """The GitLab recipe's job: its variables and its script as one shell program."""
    job = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))["load-test"]
    return {name: str(value) for name, value in job["variables"].items()}, "\n".join(job["script"])


def run_gitlab_job(workspace: Path, overrides: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the job's script as a GitLab runner's bash would, variables expanded in order, in ``workspace``;
    whatever the script left running is stopped at the end."""
    variables, script = gitlab_job()
    env = clean_env({"CI_PROJECT_DIR": str(workspace)})
    for name, value in {**variables, **overrides}.items():
        env[name] = re.sub(r"\$(\w+)", lambda match: env.get(match[1], match[0]), value)
    process = subprocess.Popen(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=workspace,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, _ = process.communicate(timeout=900)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, "")


def test_the_gitlab_recipe_without_a_source_stops_with_one_line(tmp_path: Path) -> None:
    """With no source given and no wheel committed, the job stops before installing anything: exit 2 and
    one line that says what to set."""
    run = run_gitlab_job(tmp_path, {})
    assert run.returncode == 2
    assert run.stdout.strip() == (
        "invalid setting LOCUST_SCENARIOS_SOURCE='': give a wheel, a git URL or locust-scenarios==X.Y.Z, "
        "or commit a wheel to ci/wheels/"
    )


@pytest.mark.e2e
def test_the_gitlab_recipe_runs_reports_and_ends_with_the_verdict(
    tmp_path: Path, distributions: dict[str, Path]
) -> None:
    """The GitLab job installs a wheel committed to ci/wheels/, starts the demo target, runs the profile
    and leaves the record, the HTML report, JUnit and Markdown for its artifacts, exit 0; run again with a
    failing threshold against the first record as baseline it compares and ends with exit code 3."""
    wheels = tmp_path / "ci" / "wheels"
    wheels.mkdir(parents=True)
    shutil.copy(distributions["wheel"], wheels)
    (tmp_path / "examples").mkdir()
    shutil.copy(ENDPOINTS, tmp_path / "examples")
    short = {"SERVICE_PORT": str(free_port()), "LOCUST_SCENARIO_USERS": "2", "LOCUST_SCENARIO_DURATION": "4s",
             "LOCUST_SCENARIO_THRESHOLDS": "fail_ratio<1%", **SHORT_RUN}  # fmt: skip

    first = run_gitlab_job(tmp_path, short)
    assert first.returncode == 0, first.stdout[-3000:]
    assert "load test exit code: 0" in first.stdout
    results = tmp_path / "load-test-results"
    for name in ("record.json", "report.html", "junit.xml", "summary.md"):
        assert (results / name).is_file(), name

    shutil.copy(results / "record.json", results / "baseline.json")
    second = run_gitlab_job(tmp_path, {**short, "LOCUST_SCENARIO_THRESHOLDS": "rps>100000"})
    assert second.returncode == 3, second.stdout[-3000:]
    assert (results / "compare.md").is_file()
