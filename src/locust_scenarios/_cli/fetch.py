"""``locust-scenarios fetch``: get a run's record and HTML report from the cluster with kubectl.

The master writes the record when it quits: after the profile, the thresholds and the verdict. It
writes it to its results volume (served during the linger) and, with ``record-log``, prints it as one
compressed log line. So, for the newest master pod of a release (or of one run id), either engine:

- a master still lingering: the file on its results volume (``kubectl exec ... cat``); before it quits
  there is no record yet, and fetch says so (exit 7);
- a master that has finished: the record line of its log;
- no master pod any more (deleted, or its log lost the line) and a results PersistentVolumeClaim
  (``results.existingClaim``, or ``--claim``): a short-lived reader pod mounts the claim read-only, the
  record is copied out, and the pod is deleted, whatever happened.

The HTML report is rebuilt from the record (reports are pure functions of records). ``record.json`` and
``report.html`` in the output folder are replaced.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from locust_scenarios._exitcodes import ExitCode
from locust_scenarios._records.record import record_from_log
from locust_scenarios._records.report import render_html
from locust_scenarios._records.validation import read_record
from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import shown

from .kubectl import Kubectl, ToolError
from .masters import INSTANCE, Master, find_master
from .output import unwritable, write_text

__all__ = ["Fetched", "NotYetError", "add_parser", "fetch"]

RESULTS = "/results"
"""Where this chart mounts the results volume in the master (and where the reader pod mounts the claim)."""
READER_SECONDS = 600
READY_TIMEOUT = "120s"


class NotYetError(Exception):
    """The run has not written its record yet (it is written when the master quits)."""


@dataclass(frozen=True)
class Fetched:
    """Where the files went and where they came from (``volume``, ``log`` or ``claim``)."""

    pod: str
    source: str
    record: Path
    report: Path


def _env(pod: Mapping[str, Any], container: str, name: str) -> str | None:
    for spec in (pod.get("spec") or {}).get("containers") or []:
        if isinstance(spec, dict) and spec.get("name") == container:
            for entry in spec.get("env") or []:
                if isinstance(entry, dict) and entry.get("name") == name and "value" in entry:
                    return str(entry["value"])
    return None


def _running(pod: Mapping[str, Any], container: str) -> bool:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if isinstance(status, dict) and status.get("name") == container:
            return "running" in (status.get("state") or {})
    return False


def _claim(pod: Mapping[str, Any]) -> str | None:
    """The PersistentVolumeClaim behind the pod's results volume, if it has one."""
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        if isinstance(volume, dict) and volume.get("name") == "results":
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            return str(claim) if claim else None
    return None


def _parsed(text: str, where: str) -> dict[str, Any]:
    """The record read from ``where``, checked as ``report`` checks it: a damaged one is a one-line refusal."""
    return read_record(text, where)


def _from_volume(kubectl: Kubectl, master: Master, path: str) -> dict[str, Any]:
    """The record file of a master that still runs; ``NotYetError`` while it has not quit."""
    try:
        text = kubectl.text(
            "exec", master.name, "-c", master.container, "--", "cat", path, what=f"read {path} in pod {master.name}"
        )
    except ToolError as error:
        if "no such file" in str(error).lower():
            raise NotYetError(
                f"pod {master.name} is still running its profile: the run record is written when the master "
                "quits, after the profile and the verdict; wait for it (locust-scenarios wait) and fetch again"
            ) from None
        raise
    return _parsed(text, f"{master.name}:{path}")


def _reader_pod(name: str, claim: str, image: str, pull_secrets: Any) -> dict[str, Any]:
    """A pod that only mounts the claim read-only and sleeps, within the restricted Pod Security Standard."""
    locked = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/component": "fetch-reader"}},
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": READER_SECONDS + 300,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            **({"imagePullSecrets": pull_secrets} if pull_secrets else {}),
            "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "reader",
                    "image": image,
                    "command": ["sleep", str(READER_SECONDS)],
                    "securityContext": locked,
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
                    "volumeMounts": [{"name": "results", "mountPath": RESULTS, "readOnly": True}],
                }
            ],
            "volumes": [{"name": "results", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}],
        },
    }


@contextmanager
def _started_reader(kubectl: Kubectl, manifest: dict[str, Any]) -> Iterator[str]:
    """Create the reader pod, wait until it is ready, and always delete it afterwards."""
    name = str(manifest["metadata"]["name"])
    try:
        kubectl.text("create", "-f", "-", what=f"start the reader pod {name}", stdin=json.dumps(manifest))
        kubectl.text(
            "wait",
            "--for=condition=Ready",
            f"pod/{name}",
            f"--timeout={READY_TIMEOUT}",
            what=f"start the reader pod {name} within {READY_TIMEOUT} (a ReadWriteOnce claim still in use elsewhere?)",
            timeout=300,
        )
        yield name
    finally:
        try:
            kubectl.text(
                "delete", "pod", name, "--ignore-not-found", "--wait=false", what=f"delete the reader pod {name}"
            )
        except ToolError as error:
            print(
                f"locust-scenarios fetch: warning: {error}; delete it with kubectl delete pod {name}", file=sys.stderr
            )


def _from_claim(
    kubectl: Kubectl, claim: str, run_id: str | None, image: str, pull_secrets: Any = None
) -> tuple[str, dict[str, Any]]:
    """(reader pod, record) read from the results claim: the run id's record, else the newest one."""
    name = f"locust-scenarios-fetch-{secrets.token_hex(3)}"
    with _started_reader(kubectl, _reader_pod(name, claim, image, pull_secrets)) as pod:
        if run_id:
            path = f"{RESULTS}/{run_id}/record.json"
        else:
            newest = kubectl.text(
                "exec",
                pod,
                "--",
                "sh",
                "-c",
                f"ls -1t {RESULTS}/*/record.json 2>/dev/null | head -n 1",
                what=f"list the records on claim {claim}",
            ).strip()
            if not newest:
                raise SettingsError(f"claim {claim!r} holds no run record ({RESULTS}/<run id>/record.json)")
            path = newest
        try:
            text = kubectl.text("exec", pod, "--", "cat", path, what=f"read {path} on claim {claim}")
        except ToolError as error:
            if "no such file" in str(error).lower():
                raise SettingsError(f"claim {claim!r} has no {path}: no such run id, or the run never quit") from None
            raise
        return pod, _parsed(text, f"claim {claim}:{path}")


def fetch(
    release: str,
    output: Path,
    *,
    kubectl: Kubectl,
    run_id: str | None = None,
    claim: str | None = None,
    reader_image: str | None = None,
) -> Fetched:
    """Write ``record.json`` and ``report.html`` of the release's newest run (or ``run_id``) into ``output``."""
    try:
        is_file = output.exists() and not output.is_dir()
    except OSError as error:  # a name too long, a folder that cannot be read
        raise unwritable("-o", output, error) from None
    if is_file:
        raise SettingsError(f"-o {shown(str(output))} is a file: give a folder to write record.json and report.html to")
    master = find_master(kubectl, release, run_id)
    image = reader_image or f"locustio/locust:{version('locust')}"
    record: dict[str, Any] | None = None
    if master is not None:
        pod, source = master.name, "volume"
        record_file = _env(master.pod, master.container, "LOCUST_SCENARIO_RECORD")
        running = _running(master.pod, master.container)
        if running and record_file:
            record = _from_volume(kubectl, master, record_file)
        else:
            log = kubectl.text(
                "logs", master.name, "-c", master.container, what=f"read the log of pod {master.name}", timeout=300
            )
            record, source = record_from_log(log), "log"
            if record is None and running:
                raise NotYetError(
                    f"pod {master.name} is still running: its log gets the run record when the master quits"
                )
        claim = claim or (_claim(master.pod) if record is None else None)
        image = reader_image or _image(master)
    if record is None:
        if not claim:
            raise SettingsError(_nothing_found(release, run_id, master))
        pull_secrets = (master.pod.get("spec") or {}).get("imagePullSecrets") if master else None
        pod, record = _from_claim(kubectl, claim, run_id, image, pull_secrets)
        source = f"claim {claim}"
    output_record, output_report = output / "record.json", output / "report.html"
    write_text(output_record, json.dumps(record, indent=1) + "\n", option="-o")
    write_text(output_report, render_html(record), option="-o")
    return Fetched(pod, source, output_record, output_report)


def _image(master: Master) -> str:
    for spec in (master.pod.get("spec") or {}).get("containers") or []:
        if isinstance(spec, dict) and spec.get("name") == master.container and spec.get("image"):
            return str(spec["image"])
    return f"locustio/locust:{version('locust')}"


def _nothing_found(release: str, run_id: str | None, master: Master | None) -> str:
    which = f" with run id {run_id!r}" if run_id else ""
    if master is None:
        return (
            f"no master pod of release {release!r}{which} ({INSTANCE}={release}): its pods are gone; "
            "give --claim CLAIM to read the record from the results PersistentVolumeClaim"
        )
    return (
        f"pod {master.name} has no run record in its log and no results claim: did the run quit, "
        "with LOCUST_SCENARIO_RECORD_LOG=true? (--claim CLAIM reads a results PersistentVolumeClaim)"
    )


def _command(args: argparse.Namespace) -> int:
    kubectl = Kubectl(args.kubectl, args.namespace, args.context)
    try:
        fetched = fetch(
            args.release,
            Path(args.output),
            kubectl=kubectl,
            run_id=args.run_id,
            claim=args.claim,
            reader_image=args.reader_image,
        )
    except NotYetError as error:
        print(f"locust-scenarios fetch: no record yet: {error}", file=sys.stderr)
        return ExitCode.NO_VERDICT
    print(f"{fetched.pod}: wrote {fetched.record} and {fetched.report} (from the {fetched.source})")
    return 0


def add_parser(commands: Any) -> None:
    """Register ``fetch`` on the ``locust-scenarios`` command's sub-parsers."""
    parser = commands.add_parser(
        "fetch",
        help="get the run record and HTML report of a chart release's run from the cluster (kubectl)",
        description="Get the run record and HTML report of a release's newest run (or one run id) from the "
        "cluster: from the results volume while the master lingers, from the master's log once it has "
        "finished, or from a results PersistentVolumeClaim through a short-lived reader pod when the pod is "
        "gone. The record exists only after the master quits. record.json and report.html in the output "
        "folder are replaced.",
    )
    parser.add_argument("release", help="the Helm release name")
    parser.add_argument("-n", "--namespace", help="namespace of the release (default: kubectl's)")
    parser.add_argument("--run-id", help="the run (default: the newest master pod)")
    parser.add_argument("-o", "--output", default=".", help="folder to write record.json and report.html to")
    parser.add_argument("--claim", help="results PersistentVolumeClaim to read when the master pod is gone")
    parser.add_argument(
        "--reader-image", help="image of the reader pod (default: the master's image, else locustio/locust)"
    )
    parser.add_argument("--kubectl", default="kubectl", help="the kubectl binary (default: kubectl on PATH)")
    parser.add_argument("--context", help="the kubeconfig context")
    parser.set_defaults(func=_command)
