"""`locust-scenarios bundle`: what it packs, what it computes, and what it refuses."""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import os
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
import yaml

import locust_scenarios
from locust_scenarios import ScenarioSettings
from locust_scenarios._cli.bundle import command as bundle_module
from locust_scenarios._cli.bundle.build import refresh_bundle, settings_env
from locust_scenarios._cli.bundle.command import add_parser
from locust_scenarios._cli.bundle.compact import compact_module
from locust_scenarios._cli.bundle.errors import BundleError
from locust_scenarios._cli.bundle.payload import MAX_CONFIGMAP_BYTES, configmap_key
from locust_scenarios._cli.bundle.requirements import evaluate_marker, required_distributions
from locust_scenarios._cli.main import main as command_line
from locust_scenarios._settings.options import env_name

from .conftest import FIXTURES, REPO, assets_for_tests, make_bundle

LINUX_313 = {
    "python_version": "3.13",
    "python_full_version": "3.13.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "extra": "",
}


def _tree_digest(directory: Path) -> dict[str, str]:
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ("python_version < '3.12'", False),
        ("python_version < '3.14'", True),
        ("python_version >= '3.8' and sys_platform != 'win32'", True),
        ("(platform_system == 'Windows') and extra == 'timezone'", False),
        ("extra == 'yaml'", False),
        ("'linux' in sys_platform", True),
        ("python_full_version ~= '3.10'", True),
        ("python_full_version ~= '3.12.0'", False),
        ("python_version ~= '3.13'", True),
        ("python_version == '3.13' or python_version == '3.12'", True),
    ],
)
def test_markers_are_evaluated_for_the_image(marker: str, expected: bool) -> None:
    """PEP 508 markers evaluate for the image's Linux CPython, versions compared as PEP 440 says: ``~= 3.12.0``
    is ``>= 3.12.0, == 3.12.*``, so a 3.13 image does not match it (reading ``~=`` as ``>=`` would)."""
    assert evaluate_marker(marker, LINUX_313) is expected


def test_pinned_list_is_our_closure_minus_locusts() -> None:
    """The init container's list: what locust-scenarios needs and Locust's closure lacks, pinned to the
    installed versions; never Locust, gevent or anything else the image has."""
    pinned = required_distributions("3.13")
    names = {p.split("==")[0] for p in pinned}
    assert {"pydantic", "pydantic-core", "pydantic-settings", "prometheus-client", "annotated-types"} <= names
    assert {"python-dotenv", "typing-inspection"} <= names
    assert not names & {"locust", "gevent", "flask", "requests", "pyzmq", "msgpack", "locust-scenarios"}
    for item in pinned:
        name, version = item.split("==")
        assert version == __import__("importlib.metadata").metadata.version(name)


def test_markers_follow_the_image_python_not_this_one() -> None:
    """Locust needs typing-extensions only below Python 3.12: bundling for a 3.13 image pins it
    (pydantic needs it there), for a 3.11 image Locust's closure already has it."""
    assert any(p.startswith("typing-extensions==") for p in required_distributions("3.13"))
    assert not any(p.startswith("typing-extensions==") for p in required_distributions("3.11"))


def test_extra_distributions_join_with_their_closure() -> None:
    """--with locust-plugins adds it (and what it needs beyond Locust) to the pinned list."""
    pinned = required_distributions("3.13", ["locust-plugins"])
    assert any(p.startswith("locust-plugins==") for p in pinned)
    assert not any(p.startswith("locust==") for p in pinned)


def test_configmap_key_replaces_slashes() -> None:
    """Keys cannot hold '/': nested paths become dotted keys, restored by items[].path."""
    assert configmap_key("locust_scenarios/__init__.py") == "locust_scenarios.__init__.py"


def test_bundle_layout(tmp_path: Path) -> None:
    """The folder holds chart (with files/), helmfile, dashboards and requirements.txt; the package
    excludes caches, the chart assets and host-only modules; bundle.json records versions,
    requirements and sources."""
    directory = tmp_path / "deploy"
    report = make_bundle(directory)
    files = directory / "chart" / "files"
    assert (directory / "helmfile" / "helmfile.yaml.gotmpl").is_file()
    assert (directory / "dashboards").is_dir()
    assert (files / "package" / "locust_scenarios" / "__init__.py").is_file()
    assert (files / "locustfiles" / "locustfile.py").is_file()
    assert (files / "locustfiles" / "paths" / "routes.py").is_file()
    packed = [p.relative_to(files / "package").as_posix() for p in (files / "package").rglob("*") if p.is_file()]
    assert not [p for p in packed if "__pycache__" in p or "_assets" in p or p.endswith(".pyc")]
    # What pods import is there; what only runs where the bundle is made is not.
    assert {"locust_scenarios/_plugin.py", "locust_scenarios/_records/record.py"} <= set(packed)
    assert "locust_scenarios/_records/report.py" in packed
    assert not [path for path in packed if path.startswith("locust_scenarios/_cli/")]
    assert "locust_scenarios/__main__.py" not in packed
    # Everything else ships: the host-only part is the command-line package, not a list of modules.
    source = Path(locust_scenarios.__file__).parent
    shipped = {
        f"locust_scenarios/{p.relative_to(source).as_posix()}"
        for p in source.rglob("*.py")
        if p.relative_to(source).parts[0] not in ("_cli", "__main__.py", "_assets")
        and p.relative_to(source).as_posix() != "_records/compare.py"
    }
    assert shipped <= set(packed)
    # ... and nothing shipped imports what stays behind.
    for path in (files / "package").rglob("*.py"):
        code = path.read_text(encoding="utf-8")
        assert "_records.compare" not in code, path
        assert "from .compare" not in code, path
        assert "locust_scenarios._cli" not in code, path
        assert "from .._cli" not in code, path
    schema = json.loads((files / "package" / "locust_scenarios" / "schemas" / "run-record.schema.json").read_text())
    assert schema == json.loads((source / "schemas" / "run-record.schema.json").read_text())
    manifest = json.loads((files / "bundle.json").read_text())
    assert manifest["locustfiles"] == ["locustfile.py"]
    assert manifest["requirements"] == report.requirements
    assert manifest["sources"]["modules"] == [os.path.relpath(FIXTURES / "paths", directory)]
    assert manifest["settingsEnv"] == settings_env()
    pinned = [line for line in (directory / "requirements.txt").read_text().splitlines() if not line.startswith("#")]
    assert pinned == report.requirements
    chart_yaml = (directory / "chart" / "Chart.yaml").read_text()
    assert f'appVersion: "{report.locust_version}"' in chart_yaml


def _code_shape(source: str) -> tuple[str, list[tuple[str, int]]]:
    """A module's code without its docstrings, and the line of every statement."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        for statement in body if isinstance(body, list) else []:
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                statement.value.value = "" if isinstance(statement.value.value, str) else statement.value.value
    lines = [(type(n).__name__, n.lineno) for n in ast.walk(tree) if isinstance(n, ast.stmt)]
    return ast.dump(tree), lines


def test_shipped_modules_keep_their_code_on_the_same_lines_without_docstrings_or_comments(tmp_path: Path) -> None:
    """Every shipped module has the installed module's code, statement for statement on the same line
    numbers (a traceback from a pod names the host's line), and none of its docstrings or comments;
    the compact package still imports and runs a profile in a fresh interpreter."""
    directory = tmp_path / "deploy"
    make_bundle(directory)
    package = directory / "chart" / "files" / "package"
    source = Path(locust_scenarios.__file__).parent
    compared = 0
    for shipped in (package / "locust_scenarios").rglob("*.py"):
        original = (source / shipped.relative_to(package / "locust_scenarios")).read_text(encoding="utf-8")
        compact = shipped.read_text(encoding="utf-8")
        assert compact.count("\n") == original.count("\n"), shipped
        assert _code_shape(compact) == _code_shape(original), shipped
        assert not [t for t in tokenize.generate_tokens(io.StringIO(compact).readline) if t.type == tokenize.COMMENT]
        compared += 1
    assert compared > 40
    assert len(compact_module('"""doc"""\n')) < len('"""doc"""\n')
    assert compact_module("def f(:\n  # broken\n") == "def f(:\n  # broken\n"
    probe = (
        f"import sys; sys.path.insert(0, {str(package)!r}); import locust_scenarios; "
        "from locust_scenarios import Plan, Stage; "
        "print(locust_scenarios.__file__, Plan((Stage(10, 4), Stage(10, 4))).level(5))"
    )
    ran = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == [str(package / "locust_scenarios" / "__init__.py"), "2.0"]


def test_settings_env_names_every_scenario_key_of_the_chart() -> None:
    """The map bundle.json records for both engines has one entry per `scenario` key of the chart's
    values.yaml, each the variable the settings read (name is LOCUST_SCENARIO, rampUp is
    LOCUST_SCENARIO_RAMP_UP), and every setting but the secrets (tokens, passwords) is reachable that way."""
    names = settings_env()
    assert set(names) == set(yaml.safe_load((REPO / "chart" / "values.yaml").read_text())["scenario"])
    assert (names["name"], names["rampUp"], names["trustCpuShare"]) == (
        "LOCUST_SCENARIO",
        "LOCUST_SCENARIO_RAMP_UP",
        "LOCUST_SCENARIO_TRUST_CPU_SHARE",
    )
    known = {env_name(ScenarioSettings, field) for field in ScenarioSettings.model_fields}
    secrets = {"LOCUST_SCENARIO_AUTH_TOKEN", "LOCUST_SCENARIO_PROMETHEUS_TOKEN", "LOCUST_SCENARIO_PROMETHEUS_PASSWORD"}
    assert known - set(names.values()) == secrets
    assert len(set(names.values())) == len(names)


def test_bundle_is_idempotent_and_refresh_keeps_inputs(tmp_path: Path) -> None:
    """Bundling twice writes identical files; --refresh re-makes it from the recorded sources."""
    directory = tmp_path / "deploy"
    make_bundle(directory)
    first = _tree_digest(directory)
    make_bundle(directory)
    assert _tree_digest(directory) == first
    refresh_bundle(directory, assets=assets_for_tests())
    assert _tree_digest(directory) == first
    assert not [p for p in tmp_path.iterdir() if p.name != "deploy"], "temporary folders left behind"


def _refusal(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert command_line(["bundle", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    return err


def test_refuses_invalid_configmap_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A locustfile whose name is not a valid ConfigMap key is refused: exit 2, one line, nothing written."""
    bad = tmp_path / "my locustfile.py"
    bad.write_text("")
    err = _refusal(capsys, [str(tmp_path / "out"), "--locustfile", str(bad)])
    assert "my locustfile.py" in err
    assert "[-._a-zA-Z0-9]+" in err
    assert not (tmp_path / "out").exists()


def test_refuses_configmap_above_one_mib(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A locustfiles ConfigMap above 1 MiB is refused with its size and the limit."""
    big = tmp_path / "big.py"
    big.write_text("# " + "x" * MAX_CONFIGMAP_BYTES + "\n")
    err = _refusal(capsys, [str(tmp_path / "out"), "--locustfile", str(big)])
    assert "locustfiles ConfigMap" in err
    assert "1 MiB" in err
    assert not (tmp_path / "out").exists()


def test_data_files_count_in_the_size_guard(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A journeys data file shipped with --module counts in the locustfiles ConfigMap; too large, it is
    refused naming the way out (the image)."""
    big = tmp_path / "accounts.csv"
    big.write_text("user\n" + "u12345678\n" * (MAX_CONFIGMAP_BYTES // 10 + 1))
    err = _refusal(
        capsys, [str(tmp_path / "out"), "--locustfile", str(FIXTURES / "locustfile.py"), "--module", str(big)]
    )
    assert "locustfiles ConfigMap" in err
    assert "a large data file belongs in the image" in err
    assert not (tmp_path / "out").exists()


def test_refuses_release_above_one_mib(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Files that fit in their ConfigMap but make the stored Helm release exceed 1 MiB are refused, and
    an earlier bundle in the folder stays as it was."""
    directory = tmp_path / "out"
    make_bundle(directory)
    before = _tree_digest(directory)
    data = tmp_path / "data.py"
    # Random text compresses poorly: 900 kB ride twice (chart files and manifest) in the release.
    data.write_text("BLOB = '" + os.urandom(450_000).hex() + "'\n")
    err = _refusal(capsys, [str(directory), "--locustfile", str(FIXTURES / "locustfile.py"), "--module", str(data)])
    assert "Helm release" in err
    assert "1 MiB" in err
    assert _tree_digest(directory) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.py", "out"]


def test_refuses_a_folder_that_is_not_a_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A non-empty folder that is not an earlier bundle is never overwritten."""
    (tmp_path / "notes.txt").write_text("mine")
    err = _refusal(capsys, [str(tmp_path), "--locustfile", str(FIXTURES / "locustfile.py")])
    assert "not an earlier bundle" in err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_refuses_compiled_code_in_the_package(tmp_path: Path) -> None:
    """A compiled extension module cannot ride in a ConfigMap: the bundle says so."""
    package = tmp_path / "src" / "locust_scenarios"
    package.mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "locust-scenarios"\nversion = "0.0.1"\n')
    (package / "__init__.py").write_text("")
    (package / "_speedups.so").write_bytes(b"\x7fELF")
    with pytest.raises(BundleError, match="compiled code"):
        make_bundle(tmp_path / "out", package_dir=package)


def test_refuses_missing_locustfile(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A locustfile that does not exist is named in the refusal."""
    err = _refusal(capsys, [str(tmp_path / "out"), "--locustfile", str(tmp_path / "nope.py")])
    assert "nope.py" in err


def test_add_parser_registers_the_bundle_subcommand(tmp_path: Path) -> None:
    """add_parser puts `bundle` on a subparsers object with func returning the exit code."""
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bundle", str(tmp_path / "out"), "--locustfile", str(FIXTURES / "locustfile.py")])
    assert args.func is bundle_module.run
    assert args.locustfiles == [FIXTURES / "locustfile.py"]


def test_module_entry_point(tmp_path: Path) -> None:
    """`python -m locust_scenarios bundle` bundles and prints the sizes against the limits."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust_scenarios",
            "bundle",
            str(tmp_path / "out"),
            "-f",
            str(FIXTURES / "locustfile.py"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "of 1 MiB" in result.stdout
    assert (tmp_path / "out" / "chart" / "files" / "bundle.json").is_file()


def test_command_line_tool_runs_bundle(tmp_path: Path) -> None:
    """`locust-scenarios bundle` (the command line tool calling add_parser) bundles, and refuses with 2."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "locust_scenarios", "bundle"]
    ok = subprocess.run(
        [*command, str(tmp_path / "out"), "-f", str(FIXTURES / "locustfile.py"), "--module", str(FIXTURES / "paths")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "out" / "chart" / "files" / "locustfiles" / "paths" / "routes.py").is_file()
    refused = subprocess.run(
        [*command, str(tmp_path / "other"), "-f", str(tmp_path / "missing.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert refused.returncode == 2
    assert "missing.py" in refused.stderr
