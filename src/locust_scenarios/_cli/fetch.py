"""``locust-scenarios fetch``: get a run's record and HTML report from the cluster with kubectl.

The chart's master writes both to its results volume and serves them during the linger; it also
prints the record as one compressed log line. So, for the newest master pod of a release (or of one
run id): while its container runs, the files are read from the volume (``kubectl exec ... cat``);
once the Job has finished, the record comes from the pod's log (``kubectl logs``) and the report is
rebuilt from it (reports are pure functions of records).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from locust_scenarios._records.record import record_from_log
from locust_scenarios._records.report import render_html
from locust_scenarios._settings.errors import SettingsError

from .kube import ToolError

__all__ = ["Fetched", "add_parser", "fetch"]


@dataclass(frozen=True)
class Fetched:
    """Where the files went and where they came from (``volume`` or ``log``)."""

    pod: str
    source: str
    record: Path
    report: Path


def _kubectl(kubectl: Sequence[str], *args: str, timeout: float = 60) -> str:
    try:
        done = subprocess.run([*kubectl, *args], capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise ToolError(f"kubectl not found ({kubectl[0]!r}): install it or pass --kubectl PATH") from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"kubectl {' '.join(args[:2])} did not answer within {timeout:g}s") from None
    if done.returncode != 0:
        raise ToolError(f"kubectl {' '.join(args)} failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


def _master_pod(kubectl: Sequence[str], namespace: list[str], release: str, run_id: str | None) -> dict[str, Any]:
    selector = f"app.kubernetes.io/instance={release},app.kubernetes.io/component=master"
    if run_id:
        selector += f",locust-scenarios/run-id={run_id}"
    pods = json.loads(_kubectl(kubectl, "get", "pods", *namespace, "-l", selector, "-o", "json")).get("items", [])
    if not pods:
        which = f" with run id {run_id!r}" if run_id else ""
        raise SettingsError(f"no master pod of release {release!r}{which} (selector {selector})")
    newest: dict[str, Any] = max(pods, key=lambda p: p["metadata"].get("creationTimestamp", ""))
    return newest


def _env(pod: dict[str, Any], name: str) -> str | None:
    for container in pod["spec"]["containers"]:
        for entry in container.get("env", []):
            if entry.get("name") == name and "value" in entry:
                return str(entry["value"])
    return None


def _running(pod: dict[str, Any]) -> bool:
    statuses = pod.get("status", {}).get("containerStatuses", [])
    return bool(statuses) and all("running" in s.get("state", {}) for s in statuses)


def fetch(
    release: str,
    output: Path,
    *,
    namespace: str | None = None,
    run_id: str | None = None,
    kubectl: Sequence[str] = ("kubectl",),
) -> Fetched:
    """Write ``record.json`` and ``report.html`` of the release's newest run into ``output``."""
    scope = ["--namespace", namespace] if namespace else []
    pod = _master_pod(kubectl, scope, release, run_id)
    name = pod["metadata"]["name"]
    container = pod["spec"]["containers"][0]["name"]
    output.mkdir(parents=True, exist_ok=True)
    record_path, report_path = output / "record.json", output / "report.html"
    record_file = _env(pod, "LOCUST_SCENARIO_RECORD")
    if _running(pod) and record_file:
        text = _kubectl(kubectl, "exec", *scope, name, "-c", container, "--", "cat", record_file)
        record = json.loads(text)
        source = "volume"
    else:
        found = record_from_log(_kubectl(kubectl, "logs", *scope, name, "-c", container, timeout=300))
        if found is None:
            raise SettingsError(
                f"pod {name} has no run record in its log: did the run finish, with LOCUST_SCENARIO_RECORD_LOG=true?"
            )
        record = found
        source = "log"
    record_path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    report_path.write_text(render_html(record), encoding="utf-8")
    return Fetched(name, source, record_path, report_path)


def _command(args: argparse.Namespace) -> int:
    fetched = fetch(
        args.release,
        Path(args.output),
        namespace=args.namespace,
        run_id=args.run_id,
        kubectl=[args.kubectl, *(["--context", args.context] if args.context else [])],
    )
    print(f"{fetched.pod}: wrote {fetched.record} and {fetched.report} (from the {fetched.source})")
    return 0


def add_parser(commands: Any) -> None:
    """Register ``fetch`` on the ``locust-scenarios`` command's sub-parsers."""
    parser = commands.add_parser(
        "fetch", help="get the run record and HTML report of a chart release's run from the cluster (kubectl)"
    )
    parser.add_argument("release", help="the Helm release name")
    parser.add_argument("-n", "--namespace", help="namespace of the release (default: kubectl's)")
    parser.add_argument("--run-id", help="the run (default: the newest master pod)")
    parser.add_argument("-o", "--output", default=".", help="folder to write record.json and report.html to")
    parser.add_argument("--kubectl", default="kubectl", help="the kubectl binary (default: kubectl on PATH)")
    parser.add_argument("--context", help="the kubeconfig context")
    parser.set_defaults(func=_command)
