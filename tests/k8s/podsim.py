"""Run rendered pods as local processes, the way a kubelet would start them, without a cluster.

Only what a node changes is changed: ConfigMap volumes are written as the kubelet writes them (a
timestamped folder, the ``..data`` symlink, one symlink per top-level entry, ``items[].path`` honoured,
``binaryData`` decoded), emptyDirs are fresh folders, mount paths map to those folders (a mount inside
another one appears as a folder there, as the container runtime makes it), Service names resolve to
127.0.0.1 and container ports to free local ports (a container that declares a port Locust listens on
by default is given that port's local stand-in through Locust's own variable). Commands, arguments
and environment come from the manifest, and exec liveness probes run as the kubelet runs them (a
container failing its threshold is stopped).
"""

from __future__ import annotations

import base64
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

KUBELET_STAMP = "..2025_01_01_00_00_00.000000001"
PORT_VARIABLES = ("LOCUST_PROMETHEUS_PORT", "LOCUST_MASTER_NODE_PORT", "LOCUST_MASTER_BIND_PORT", "LOCUST_WEB_PORT")
"""Variables whose value is a port: a mapped port is replaced by its local stand-in."""
HOST_VARIABLES = ("LOCUST_MASTER_NODE_HOST",)
"""Variables whose value is a Service name."""
LISTEN_DEFAULTS = {8089: "LOCUST_WEB_PORT", 5557: "LOCUST_MASTER_BIND_PORT"}
"""Ports a Locust master listens on unless told otherwise, and the variable that moves each."""

__all__ = ["PodSimulation", "free_port", "master_and_workers", "materialise_configmap", "service_links"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_links(services: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The variables a kubelet gives each pod for the Services of its namespace (``enableServiceLinks``,
    on unless a pod turns it off), with made-up cluster IPs."""
    env: dict[str, str] = {}
    for number, service in enumerate(services):
        ports = service["spec"].get("ports", [])
        if not ports:
            continue
        name = service["metadata"]["name"].upper().replace("-", "_")
        address = f"10.96.0.{10 + number}"
        env[f"{name}_SERVICE_HOST"] = address
        env[f"{name}_SERVICE_PORT"] = str(ports[0]["port"])
        env[f"{name}_PORT"] = f"{ports[0].get('protocol', 'TCP').lower()}://{address}:{ports[0]['port']}"
        for port in ports:
            protocol = port.get("protocol", "TCP")
            if "name" in port:
                env[f"{name}_SERVICE_PORT_{port['name'].upper().replace('-', '_')}"] = str(port["port"])
            prefix = f"{name}_PORT_{port['port']}_{protocol}"
            env[prefix] = f"{protocol.lower()}://{address}:{port['port']}"
            env.update(
                {f"{prefix}_PROTO": protocol.lower(), f"{prefix}_PORT": str(port["port"]), f"{prefix}_ADDR": address}
            )
    return env


def materialise_configmap(
    target: Path,
    data: Mapping[str, str],
    items: Sequence[Mapping[str, str]] | None,
    binary: Mapping[str, str] | None = None,
) -> None:
    """Write a ConfigMap volume as the kubelet's atomic writer does (``binary``: base64 binaryData)."""
    stamp = target / KUBELET_STAMP
    contents = {key: text.encode("utf-8") for key, text in data.items()}
    contents.update({key: base64.b64decode(encoded) for key, encoded in (binary or {}).items()})
    projected = items if items is not None else [{"key": key, "path": key} for key in contents]
    for item in projected:
        path = stamp / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(contents[item["key"]])
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
    service_env: Mapping[str, str] = field(default_factory=dict)
    claims: Mapping[str, Path] = field(default_factory=dict)
    volumes: dict[str, Path] = field(default_factory=dict)
    stopped_by_probe: bool = False

    def __post_init__(self) -> None:
        for volume in self.spec["volumes"]:
            local = self.root / "volumes" / volume["name"]
            local.mkdir(parents=True)
            if "configMap" in volume:
                source = volume["configMap"]
                configmap = self.configmaps[source["name"]]
                materialise_configmap(
                    local, configmap.get("data", {}), source.get("items"), configmap.get("binaryData")
                )
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
        mounts = {m["mountPath"]: self.volumes[m["name"]] for m in container.get("volumeMounts", [])}
        for outer, outer_local in mounts.items():
            for inner, inner_local in mounts.items():
                nested = outer_local / inner.removeprefix(outer + "/")
                if inner.startswith(outer + "/") and not nested.exists():
                    nested.parent.mkdir(parents=True, exist_ok=True)
                    nested.symlink_to(inner_local)
        return mounts

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
        if self.spec.get("enableServiceLinks", True):
            env.update(self.service_env)
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
        return self._local_network(env, container)

    def _local_network(self, env: dict[str, str], container: Mapping[str, Any]) -> dict[str, str]:
        """Ports and Service names in Locust's variables mapped to their local stand-ins; a declared
        port that Locust listens on by default gets its variable."""
        for port in container.get("ports", []):
            variable = LISTEN_DEFAULTS.get(int(port["containerPort"]))
            if variable is not None and variable not in env:
                env[variable] = str(port["containerPort"])
        for name in PORT_VARIABLES:
            if name in env and env[name].isdigit() and int(env[name]) in self.ports:
                env[name] = str(self.ports[int(env[name])])
        for name in HOST_VARIABLES:
            if name in env:
                env[name] = self.hosts.get(env[name], env[name])
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
                probe = subprocess.run(self.probe_command(container), timeout=timeout, capture_output=True, check=False)
                ok = probe.returncode == 0
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


def master_and_workers(
    master: Mapping[str, Any], worker: Mapping[str, Any], workers: int, root: Path, **common: Any
) -> list[PodSimulation]:
    """A master pod and ``workers`` worker pods from two workloads' pod specs, with their init
    containers run (in parallel, as a cluster would)."""
    pods = [PodSimulation("master", dict(master["spec"]["template"]["spec"]), root / "master", **common)]
    pods += [
        PodSimulation(f"worker-{i}", dict(worker["spec"]["template"]["spec"]), root / f"worker-{i}", **common)
        for i in range(workers)
    ]
    with ThreadPoolExecutor(len(pods)) as pool:
        list(pool.map(lambda pod: pod.run_init_containers(timeout=300), pods))
    return pods


@contextmanager
def running(pods: Sequence[PodSimulation]) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Start each pod's Locust container (output to ``<root>/container.log``); on exit, kill what still
    runs, as deleting the pods would."""
    handles = {pod.name: (pod.root / "container.log").open("wb") for pod in pods}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for pod in pods:
            processes[pod.name] = pod.start(pod.spec["containers"][0], handles[pod.name])
        yield processes
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
        for handle in handles.values():
            handle.close()
