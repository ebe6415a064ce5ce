"""A stand-in for kubectl that replays recorded answers (no Kubernetes API server runs here).

``Replay(folder)`` collects rules: when every word of ``when`` appears in a kubectl command line (in
order), the rule answers with the next of its answers (the last one repeats). An answer is recorded
output (``json``, ``text`` or a file of ``tests/fixtures/kube``), an error as kubectl prints it
(stderr and exit code), or ``proxy``: the body of an HTTP GET to a local URL, which is how the API
server's service proxy (``kubectl get --raw .../services/NAME:PORT/proxy/PATH``) answers. ``write()``
makes the executable; every command line (and what it read on stdin) goes to ``calls.log``.

``replaying_kubectl(folder, pods=..., logs=..., files=...)`` is the shorthand for a release's pods,
their logs and the files ``kubectl exec ... cat`` reads.
"""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "RECORDED",
    "Replay",
    "calls",
    "not_found",
    "pod",
    "pod_list",
    "replaying_kubectl",
    "stdins",
    "unavailable",
]

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "kube"

_SCRIPT = """\
import json, sys, urllib.request
from pathlib import Path
folder = Path({folder!r})
args = sys.argv[1:]
stdin = sys.stdin.read() if args[-2:] == ["-f", "-"] else None
with (folder / "calls.log").open("a") as log:
    log.write(json.dumps({{"args": args, "stdin": stdin}}) + "\\n")
rules = json.loads((folder / "rules.json").read_text())

def matches(when, args):
    rest = iter(args)
    return all(any(word == arg for arg in rest) for word in when)

for index, rule in enumerate(rules):
    if not matches(rule["when"], args):
        continue
    counter = folder / f"rule-{{index}}.count"
    used = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(used + 1))
    answer = rule["answers"][min(used, len(rule["answers"]) - 1)]
    if "error" in answer:
        sys.stderr.write(answer["error"] + "\\n")
        sys.exit(answer.get("code", 1))
    if "proxy" in answer:
        path = args[args.index("--raw") + 1]
        with urllib.request.urlopen(answer["proxy"] + path.split("/proxy", 1)[1], timeout=10) as response:
            sys.stdout.write(response.read().decode())
    elif "fixture" in answer:
        sys.stdout.write((Path({recorded!r}) / answer["fixture"]).read_text())
    elif "json" in answer:
        sys.stdout.write(json.dumps(answer["json"]))
    else:
        sys.stdout.write(answer.get("text", ""))
    sys.exit(0)
sys.stderr.write(f"error: unexpected kubectl call {{args}}\\n")
sys.exit(1)
"""


def not_found(kind: str, name: str) -> dict[str, Any]:
    """kubectl's answer for an object that does not exist."""
    return {"error": f'Error from server (NotFound): {kind} "{name}" not found', "code": 1}


def unavailable(message: str = "") -> dict[str, Any]:
    """kubectl's answer when the API server cannot be reached (here: a connection refused)."""
    text = message or (
        "The connection to the server 10.0.0.1:6443 was refused - did you specify the right host or port?"
    )
    return {"error": text, "code": 1}


class Replay:
    """The rules of one replaying kubectl, written into ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.rules: list[dict[str, Any]] = []

    def on(self, *when: str, answers: Sequence[Mapping[str, Any]]) -> Replay:
        """Answer command lines holding the words ``when`` (in order) with ``answers``, one per call."""
        self.rules.append({"when": list(when), "answers": [dict(a) for a in answers]})
        return self

    def write(self) -> Path:
        """The executable kubectl."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "rules.json").write_text(json.dumps(self.rules))
        script = self.folder / "kubectl"
        script.write_text(f"#!{sys.executable}\n" + _SCRIPT.format(folder=str(self.folder), recorded=str(RECORDED)))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return script


def pod_list(pods: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Pods as ``kubectl get pods -o json`` prints them."""
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": list(pods)}


def pod(
    name: str,
    *,
    run_id: str,
    created: str,
    running: bool,
    env: Mapping[str, str],
    claim: str | None = None,
) -> dict[str, Any]:
    """A master pod of this chart as ``kubectl get pods -o json`` lists it (the fields as the API writes them)."""
    state: dict[str, Any] = (
        {"running": {"startedAt": created}}
        if running
        else {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": created}}
    )
    volumes = [{"name": "results", "persistentVolumeClaim": {"claimName": claim}}] if claim else []
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
                "app.kubernetes.io/name": "locust-scenarios",
                "locust-scenarios/run-id": run_id,
            },
        },
        "spec": {
            "containers": [
                {
                    "name": "master",
                    "image": "locustio/locust:2.47.0",
                    "env": [{"name": k, "value": v} for k, v in env.items()],
                }
            ],
            "volumes": volumes,
        },
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
    """A kubectl that lists ``pods``, prints each pod's log and ``cat``s ``files`` in any pod."""
    replay = Replay(folder).on("get", "pods", answers=[{"json": pod_list(pods)}])
    for name, log in (logs or {}).items():
        replay.on("logs", name, answers=[{"text": log}])
    replay.on("logs", answers=[not_found("pods", "?")])
    for path, text in (files or {}).items():
        replay.on("exec", "cat", path, answers=[{"text": text}])
    missing = "cat: the file: No such file or directory\ncommand terminated with exit code 1"
    replay.on("exec", "cat", answers=[{"error": missing, "code": 1}])
    return replay.write()


def calls(folder: Path) -> list[list[str]]:
    """Every command line the replaying kubectl received, in order."""
    log = folder / "calls.log"
    return [json.loads(line)["args"] for line in log.read_text().splitlines()] if log.exists() else []


def stdins(folder: Path) -> list[str]:
    """What the replaying kubectl read on stdin, for each call that read it (``create -f -``)."""
    log = folder / "calls.log"
    found = [json.loads(line)["stdin"] for line in log.read_text().splitlines()] if log.exists() else []
    return [text for text in found if text is not None]
