"""A stand-in for kubectl that replays recorded answers (no Kubernetes API server runs here).

``replaying_kubectl(folder, pods=..., logs=..., files=...)`` writes an executable that answers
``get pods ... -o json`` with the recorded pod list, ``logs POD ...`` with the recorded log of that pod
and ``exec POD ... -- cat PATH`` with the recorded file; it appends every command line to
``calls.log``, so a test can check what was asked. Anything else fails as kubectl would.
"""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["calls", "pod", "replaying_kubectl"]

_SCRIPT = """\
import json, sys
from pathlib import Path
folder = Path({folder!r})
args = sys.argv[1:]
with (folder / "calls.log").open("a") as log:
    log.write(json.dumps(args) + "\\n")
answers = json.loads((folder / "answers.json").read_text())
while args and args[0] == "--context":
    args = args[2:]
if args[:2] == ["get", "pods"]:
    sys.stdout.write(json.dumps({{"apiVersion": "v1", "kind": "List", "items": answers["pods"]}}))
elif args[:1] == ["logs"]:
    name = next(a for a in args[1:] if not a.startswith("-") and a not in answers["flag_values"])
    if name not in answers["logs"]:
        sys.exit(f'Error from server (NotFound): pods "{{name}}" not found')
    sys.stdout.write(answers["logs"][name])
elif args[:1] == ["exec"]:
    path = args[args.index("--") + 2]
    if path not in answers["files"]:
        sys.exit(f"cat: {{path}}: No such file or directory")
    sys.stdout.write(answers["files"][path])
else:
    sys.exit(f"unexpected kubectl call: {{args}}")
"""


def pod(name: str, *, run_id: str, created: str, running: bool, env: Mapping[str, str]) -> dict[str, Any]:
    """A master pod as ``kubectl get pods -o json`` lists it (the fields fetch reads, as the API writes them)."""
    state: dict[str, Any] = (
        {"running": {"startedAt": created}}
        if running
        else {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": created}}
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "load",
            "creationTimestamp": created,
            "labels": {
                "app.kubernetes.io/component": "master",
                "app.kubernetes.io/instance": "shop",
                "locust-scenarios/run-id": run_id,
            },
        },
        "spec": {"containers": [{"name": "master", "env": [{"name": k, "value": v} for k, v in env.items()]}]},
        "status": {
            "phase": "Running" if running else "Succeeded",
            "containerStatuses": [{"name": "master", "state": state}],
        },
    }


def replaying_kubectl(
    folder: Path,
    *,
    pods: list[dict[str, Any]],
    logs: Mapping[str, str] | None = None,
    files: Mapping[str, str] | None = None,
) -> Path:
    """Write the replaying kubectl into ``folder`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    answers = {
        "pods": pods,
        "logs": dict(logs or {}),
        "files": dict(files or {}),
        "flag_values": ["load", "master"],
    }
    (folder / "answers.json").write_text(json.dumps(answers))
    script = folder / "kubectl"
    script.write_text(f"#!{sys.executable}\n" + _SCRIPT.format(folder=str(folder)))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def calls(folder: Path) -> list[list[str]]:
    """Every command line the replaying kubectl received, in order."""
    log = folder / "calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
