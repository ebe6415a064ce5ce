"""Render every manifest the chart and the helmfile make, normalised, one file per case.

    .venv/bin/python -m tests.k8s.render_manifests OUTDIR                 # this checkout
    .venv/bin/python -m tests.k8s.render_manifests OUTDIR --source DIR    # the chart, helmfile and
                                                                          # dashboards of another tree
    .venv/bin/python -m tests.k8s.render_manifests --write-digests        # refresh DIGESTS

Cases: every ``chart/ci/*-values.yaml`` with helm 4 and with helm 3; every helmfile environment with
the default engine and with ``engine=deliveryhero`` (our config-only release, the values the helmfile
gives deliveryhero/locust 0.35.0 and that chart's manifests); and a few helmfile variants whose
branches no environment takes (monitoring, KEDA with either trigger, no dependency install).

The output is a function of the chart, the helmfile and the dashboards only: the bundle carries a
stand-in package (``fixtures/standin``) instead of the installed one, its versions and pinned list are
fixed, the run id and the host are fixed, and every file holds its objects sorted, keys sorted, without
helm's comments. ``diff -r`` of two outputs shows what a change of the templates changes;
``DIGESTS`` records the output of this tree, and a test compares against it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from locust_scenarios._cli.assets import Assets

from .conftest import FIXTURES, REPO, K8sTools, find_tools, helm, make_bundle
from .deliveryhero_chart import ChartUnavailableError, find_deliveryhero_chart
from .test_helmfile import helmfile

DIGESTS = Path(__file__).resolve().parent / "rendered-manifests.sha256"
STANDIN_PACKAGE = FIXTURES / "standin" / "src" / "locust_scenarios"
PINNED_LOCUST = "0.0.0"
PINNED_REQUIREMENTS = ["first-dependency==1.0", "second-dependency==2.0"]
HOST = "http://127.0.0.1:8080"
RUN_ID = "render"
RUN_STARTED = "1767225600"
"""2026-01-01T00:00:00Z: the apply time the deliveryhero engine's start window counts from."""
RELEASE = "perf"
NAMESPACE = "load"
DELIVERYHERO = "engine=deliveryhero,refreshBundle=false"
# Branches of the helmfile that no environment takes, each as --state-values-set on one environment.
HELMFILE_VARIANTS = {
    "locust-scenarios": {"stress-monitoring": "monitoring.enabled=true,refreshBundle=false"},
    "deliveryhero": {
        "stress-monitoring": f"{DELIVERYHERO},monitoring.enabled=true",
        "stress-keda": f"{DELIVERYHERO},chart.autoscaling.keda.enabled=true,"
        "chart.autoscaling.keda.minReplicas=2,chart.autoscaling.keda.maxReplicas=7",
        "stress-keda-prometheus": f"{DELIVERYHERO},chart.autoscaling.keda.enabled=true,"
        "chart.autoscaling.keda.trigger=prometheus,"
        "chart.autoscaling.keda.prometheus.serverAddress=http://prometheus.monitoring.svc:9090",
        "smoke-no-install": f"{DELIVERYHERO},chart.dependencies.install=false",
        "stress-existing-configmap": f"{DELIVERYHERO},chart.locust.existingConfigMap=team-locustfiles,"
        "chart.locust.locustfiles[0]=main.py,chart.locust.locustfiles[1]=extra.py",
        "load-service-mode": f"{DELIVERYHERO},chart.mode=service",
    },
}


class RenderError(RuntimeError):
    """A case did not render; the message names the case and carries the tool's own error."""


def normalised(documents: str) -> str:
    """YAML documents as one text: objects sorted by kind, namespace and name, keys sorted, no comments."""
    objects = [doc for doc in yaml.safe_load_all(documents) if doc]

    def order(obj: Any) -> tuple[str, ...]:
        if not isinstance(obj, dict):
            return ("", "", "", json.dumps(obj, sort_keys=True))
        metadata = obj.get("metadata") or {}
        return (
            str(obj.get("kind", "")),
            str(metadata.get("namespace", "")),
            str(metadata.get("name", "")),
            json.dumps(obj, sort_keys=True),
        )

    dumped = (yaml.safe_dump(obj, sort_keys=True, width=1_000_000) for obj in sorted(objects, key=order))
    return "---\n" + "---\n".join(dumped) if objects else ""


def pin(deploy: Path) -> None:
    """Fix what the bundle takes from this machine: the Locust version and the pinned list (the
    stand-in package has its own fixed version)."""
    chart_yaml = deploy / "chart" / "Chart.yaml"
    chart_yaml.write_text(re.sub(r"(?m)^appVersion:.*$", f'appVersion: "{PINNED_LOCUST}"', chart_yaml.read_text()))
    manifest_path = deploy / "chart" / "files" / "bundle.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["locust"] = PINNED_LOCUST
    manifest["requirements"] = PINNED_REQUIREMENTS
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


def bundle(source: Path, directory: Path) -> Path:
    """A bundle of ``source``'s chart, helmfile and dashboards with the stand-in package, pinned."""
    assets = Assets(chart=source / "chart", helmfile=source / "helmfile", dashboards=source / "dashboards")
    deploy = directory / "deploy"
    make_bundle(deploy, assets=assets, package_dir=STANDIN_PACKAGE, pythonpath_zip_too=True)
    pin(deploy)
    return deploy


@dataclass(frozen=True)
class Renderer:
    """The tools, a pinned bundle and a scratch folder."""

    tools: K8sTools
    deploy: Path
    deliveryhero_chart: Path
    scratch: Path

    def helm(self, binary: Path, case: str, *args: str) -> str:
        result = helm(binary, *args, check=False)
        if result.returncode != 0:
            raise RenderError(f"{case}: {binary.name} {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def helmfile(self, case: str, *args: str) -> str:
        run = {"run_id": RUN_ID, "run_started": RUN_STARTED}
        result = helmfile(self.tools, self.deploy, self.scratch, *args, host=HOST, **run)
        if result.returncode != 0:
            raise RenderError(f"{case}: helmfile {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def chart_cases(self) -> Iterator[tuple[str, str]]:
        chart = self.deploy / "chart"
        for values in sorted((chart / "ci").glob("*-values.yaml")):
            for major, binary in (("helm4", self.tools.helm), ("helm3", self.tools.helm3)):
                case = f"chart/{major}/{values.stem}.yaml"
                args = ("template", RELEASE, str(chart), "--namespace", NAMESPACE, "-f", str(values))
                yield case, self.helm(binary, case, *args)

    def helmfile_cases(self) -> Iterator[tuple[str, str]]:
        environments = sorted(p.stem for p in (self.deploy / "helmfile" / "environments").glob("*.yaml"))
        for engine, variants in HELMFILE_VARIANTS.items():
            base = DELIVERYHERO if engine == "deliveryhero" else "refreshBundle=false"
            cases = dict.fromkeys(environments, base) | variants
            for name, sets in cases.items():
                environment = name.split("-", 1)[0]
                yield from self.helmfile_case(f"helmfile/{engine}/{name}", environment, sets, engine == "deliveryhero")

    def helmfile_case(self, case: str, environment: str, sets: str, deliveryhero: bool) -> Iterator[tuple[str, str]]:
        args = ("-e", environment, "--state-values-set", sets)
        state = self.helmfile(case, *args, "build")
        yield f"{case}.state.yaml", state
        if not deliveryhero:
            yield f"{case}.yaml", self.helmfile(case, *args, "template")
            return
        config = self.helmfile(case, *args, "--selector", "part=config", "template", "--skip-deps")
        out = self.scratch / "values"
        self.helmfile(
            case,
            *args,
            *("--selector", "part=test", "write-values", "--skip-deps"),
            *("--output-file-template", str(out / "{{ .Release.Name }}.yaml")),
        )
        values = out / "locust-scenarios.yaml"
        yield f"{case}.values.yaml", values.read_text()
        namespace = "locust-local" if environment == "local" else "locust"
        chart_args = ("template", "locust-scenarios", str(self.deliveryhero_chart), "--namespace", namespace)
        manifests = self.helm(self.tools.helm, case, *chart_args, "-f", str(values))
        yield f"{case}.yaml", config + "\n---\n" + manifests


def render(out: Path, source: Path = REPO, deliveryhero_chart: Path | None = None) -> list[str]:
    """Render every case of ``source`` into ``out`` (which must not exist); the files written, sorted.

    ``deliveryhero_chart`` is the verified deliveryhero/locust chart; by default it is found (or pulled)
    as the tests find it (deliveryhero_chart.py).
    """
    tools = find_tools()
    chart = deliveryhero_chart or find_deliveryhero_chart(tools.helm, REPO, os.environ)
    with tempfile.TemporaryDirectory(prefix="render-manifests-") as scratch:
        renderer = Renderer(tools, bundle(source, Path(scratch)), chart, Path(scratch))
        written = []
        for case, text in [*renderer.chart_cases(), *renderer.helmfile_cases()]:
            target = out / case
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(normalised(text))
            written.append(case)
    return sorted(written)


def digests(out: Path) -> dict[str, str]:
    """sha256 of every rendered file, by its path under ``out``."""
    return {
        path.relative_to(out).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.rglob("*.yaml"))
    }


def digest_text(out: Path) -> str:
    """The lines of ``DIGESTS`` (sha256sum's format) for a rendered folder."""
    return "".join(f"{digest}  {path}\n" for path, digest in digests(out).items())


def recorded_digests() -> dict[str, str]:
    """The digests ``DIGESTS`` records, by path."""
    lines = DIGESTS.read_text().splitlines() if DIGESTS.is_file() else []
    return {path: digest for digest, path in (line.split("  ", 1) for line in lines if line.strip())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.k8s.render_manifests", description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, help="folder to render into (must not exist)")
    parser.add_argument("--source", type=Path, default=REPO, help="tree with chart/, helmfile/, dashboards/")
    parser.add_argument("--write-digests", action="store_true", help=f"rewrite {DIGESTS.name} from this tree")
    args = parser.parse_args(argv)
    if args.write_digests:
        with tempfile.TemporaryDirectory(prefix="render-manifests-out-") as folder:
            written = render(Path(folder) / "out", args.source)
            DIGESTS.write_text(digest_text(Path(folder) / "out"))
        print(f"{DIGESTS}: {len(written)} rendered files")
        return 0
    if args.out is None:
        parser.error("give OUTDIR, or --write-digests")
    if args.out.exists():
        parser.error(f"{args.out} exists: give a new folder")
    try:
        written = render(args.out, args.source)
    except (RenderError, ChartUnavailableError) as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{args.out}: {len(written)} rendered files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
