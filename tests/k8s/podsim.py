"""Run rendered pods as local processes, the way a kubelet would start them, without a cluster.

Only what a node changes is changed: ConfigMap volumes are written as the kubelet writes them (a
timestamped folder, the ``..data`` symlink, one symlink per top-level entry, ``items[].path`` honoured),
emptyDirs are fresh folders, mount paths map to those folders, Service names resolve to 127.0.0.1 and
container ports to free local ports. Commands, arguments and environment come from the manifest, and
exec liveness probes run as the kubelet runs them (a container failing its threshold is stopped).
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

KUBELET_STAMP = "..2025_01_01_00_00_00.000000001"

__all__ = ["PodSimulation", "free_port", "materialise_configmap"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def materialise_configmap(target: Path, data: Mapping[str, str], items: Sequence[Mapping[str, str]] | None) -> None:
    """Write a ConfigMap volume as the kubelet's atomic writer does."""
    stamp = target / KUBELET_STAMP
    projected = items if items is not None else [{"key": key, "path": key} for key in data]
    for item in projected:
        path = stamp / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data[item["key"]], encoding="utf-8")
    (target / "..data").symlink_to(KUBELET_STAMP)
    for top in sorted({Path(item["path"]).parts[0] for item in projected}):
        (target / top).symlink_to(f"..data/{top}")


@dataclass
class PodSimulation:
    """One pod of a rendered workload, with its volumes on local disk."""

    name: str
    spec: dict[str, Any]
    root: Path
    configmaps: Mapping[str, Mapping[str, Any]]
    secrets: Mapping[str, Mapping[str, str]]
    base_env: Mapping[str, str]
    binaries: Mapping[str, str]
    hosts: Mapping[str, str] = field(default_factory=dict)
    ports: Mapping[int, int] = field(default_factory=dict)
    claims: Mapping[str, Path] = field(default_factory=dict)
    volumes: dict[str, Path] = field(default_factory=dict)
    stopped_by_probe: bool = False

    def __post_init__(self) -> None:
        for volume in self.spec["volumes"]:
            local = self.root / "volumes" / volume["name"]
            local.mkdir(parents=True)
            if "configMap" in volume:
                source = volume["configMap"]
                materialise_configmap(local, self.configmaps[source["name"]]["data"], source.get("items"))
            elif "secret" in volume:
                source = volume["secret"]
                materialise_configmap(local, self.secrets[source["secretName"]], source.get("items"))
            elif "persistentVolumeClaim" in volume:
                local.rmdir()
                local = self.claims[volume["persistentVolumeClaim"]["claimName"]]  # the bound volume's files
            else:
                assert "emptyDir" in volume, f"unsupported volume {volume}"
            self.volumes[volume["name"]] = local
        (self.root / "workdir").mkdir()

    def _mounts(self, container: Mapping[str, Any]) -> dict[str, Path]:
        return {m["mountPath"]: self.volumes[m["name"]] for m in container.get("volumeMounts", [])}

    def _translate(self, text: str, mounts: Mapping[str, Path]) -> str:
        """Mount paths to local folders (a path prefix, at a boundary), in one pass."""
        if not mounts:
            return text
        pattern = "|".join(re.escape(p) for p in sorted(mounts, key=len, reverse=True))
        return re.sub(rf"(?<![\w./-])({pattern})(?=/|:|,|$)", lambda m: str(mounts[m.group(1)]), text)

    def _arguments(self, args: Sequence[str], mounts: Mapping[str, Path]) -> list[str]:
        translated = [self._translate(str(a), mounts) for a in args]
        for i, arg in enumerate(translated[:-1]):
            following = translated[i + 1]
            if arg in {"--master-bind-port", "--master-port", "--web-port"} and int(following) in self.ports:
                translated[i + 1] = str(self.ports[int(following)])
            if arg == "--master-host":
                translated[i + 1] = self.hosts.get(following, following)
        return translated

    def environment(self, container: Mapping[str, Any]) -> dict[str, str]:
        """The container's environment: image defaults, envFrom ConfigMaps, then env entries."""
        mounts = self._mounts(container)
        env = dict(self.base_env)
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                env.update(self.configmaps[source["configMapRef"]["name"]]["data"])
            else:
                env.update(self.secrets[source["secretRef"]["name"]])
        for entry in container.get("env", []):
            if "value" in entry:
                env[entry["name"]] = self._translate(str(entry["value"]), mounts)
            else:
                ref = entry["valueFrom"]["secretKeyRef"]
                env[entry["name"]] = self.secrets[ref["name"]][ref["key"]]
        if "LOCUST_PROMETHEUS_PORT" in env and int(env["LOCUST_PROMETHEUS_PORT"]) in self.ports:
            env["LOCUST_PROMETHEUS_PORT"] = str(self.ports[int(env["LOCUST_PROMETHEUS_PORT"])])
        return env

    def command(self, container: Mapping[str, Any]) -> list[str]:
        """command + args, with the image's binaries and the mounts mapped to local ones."""
        mounts = self._mounts(container)
        argv = [*container["command"], *container.get("args", [])]
        return [self.binaries.get(argv[0], argv[0]), *self._arguments(argv[1:], mounts)]

    def grace_period(self) -> float:
        """terminationGracePeriodSeconds: how long the kubelet waits after SIGTERM before SIGKILL."""
        return float(self.spec.get("terminationGracePeriodSeconds", 30))

    def start(self, container: Mapping[str, Any], log: IO[bytes]) -> subprocess.Popen[bytes]:
        """Start one container's process (stdout and stderr to ``log``), with its liveness probe."""
        process = subprocess.Popen(
            self.command(container),
            env=self.environment(container),
            cwd=self.root / "workdir",
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if "livenessProbe" in container:
            threading.Thread(target=self._liveness, args=(container, process), daemon=True).start()
        return process

    def probe_command(self, container: Mapping[str, Any]) -> list[str]:
        """An exec probe's command, with binaries, Service names and ports mapped like the container's."""
        argv = [str(a) for a in container["livenessProbe"]["exec"]["command"]]
        mapped = [self.hosts.get(a, a) for a in argv[1:]]
        mapped = [str(self.ports[int(a)]) if a.isdigit() and int(a) in self.ports else a for a in mapped]
        return [self.binaries.get(argv[0], argv[0]), *mapped]

    def _liveness(self, container: Mapping[str, Any], process: subprocess.Popen[bytes]) -> None:
        """The kubelet's exec liveness probe: after failureThreshold failures in a row, stop the container."""
        probe = container["livenessProbe"]
        period, threshold = probe.get("periodSeconds", 10), probe.get("failureThreshold", 3)
        timeout = probe.get("timeoutSeconds", 1)
        time.sleep(probe.get("initialDelaySeconds", 0))
        failures = 0
        while process.poll() is None:
            try:
                ok = subprocess.run(self.probe_command(container), timeout=timeout, check=False).returncode == 0
            except subprocess.TimeoutExpired:
                ok = False
            failures = 0 if ok else failures + 1
            if failures >= threshold and process.poll() is None:
                self.stopped_by_probe = True
                process.terminate()
                return
            time.sleep(period)

    def run_init_containers(self, timeout: float, *, check: bool = True) -> int:
        """Run every init container to completion, in order, as the kubelet does: the first that fails
        stops the pod. With ``check`` each must exit 0; returns the last exit code."""
        code = 0
        for container in self.spec.get("initContainers", []):
            log_path = self.root / f"{container['name']}.log"
            with log_path.open("wb") as log:
                process = self.start(container, log)
                try:
                    code = process.wait(timeout=timeout)
                finally:
                    if process.poll() is None:
                        process.kill()
                        process.wait()
            if check:
                assert code == 0, f"{self.name}/{container['name']} exited {code}:\n{log_path.read_text()[-3000:]}"
            if code != 0:
                break
        return code
