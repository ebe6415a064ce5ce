"""The live progress line of ``locust-scenarios wait``, read from the master's ``/metrics``.

The metrics come through the API server's service proxy (``kubectl get --raw
/api/v1/namespaces/NS/services/NAME:metrics/proxy/metrics``): no port-forward, nothing to expose. They
are parsed with prometheus_client's text parser into a ``Snapshot``; two snapshots give the request
rate. The line names the profile's stage, the users against the plan, requests per second, the failure
ratio, the p95 latency and the thresholds' verdict so far.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from locust_scenarios._exitcodes import ExitCode, most_severe
from locust_scenarios._settings.options import format_duration

from .kubectl import Kubectl, ToolError
from .masters import items_of, labels_of, name_of

__all__ = ["METRICS_PORT_NAME", "MetricsSource", "Snapshot", "find_metrics_service", "parse_metrics", "progress_line"]

METRICS_PORT_NAME = "metrics"
"""The name both engines give the master's metrics port on its Service."""
AGGREGATED = "Aggregated"


@dataclass(frozen=True)
class Snapshot:
    """What one scrape of the master's metrics says, taken at ``at`` (seconds on the waiting side's clock)."""

    at: float
    scenario: str = ""
    stage: str = ""
    state: str = ""
    users: float | None = None
    target: float | None = None
    open_model: bool = False
    requests: float = 0.0
    failures: float = 0.0
    p95: float | None = None
    thresholds: tuple[tuple[str, bool], ...] = ()
    inconclusive: tuple[str, ...] = field(default_factory=tuple)

    @property
    def failing(self) -> list[str]:
        """The thresholds failing on the run so far."""
        return [text for text, passing in self.thresholds if not passing]

    def verdict(self) -> int:
        """The exit code the metrics imply once the run has stopped: a failed threshold 3, an inconclusive
        generator 5, failed requests without thresholds 1, no request at all 3 or 5, else 0."""
        codes: list[int] = []
        if self.failing:
            codes.append(ExitCode.THRESHOLD_FAILED)
        if self.inconclusive:
            codes.append(ExitCode.INCONCLUSIVE)
        if self.requests == 0:
            codes.append(ExitCode.THRESHOLD_FAILED if self.thresholds else ExitCode.INCONCLUSIVE)
        elif self.failures and not self.thresholds:
            codes.append(ExitCode.REQUEST_FAILED)
        return most_severe(*codes)


def parse_metrics(text: str, at: float) -> Snapshot:
    """A snapshot of the exporter's text exposition (``ValueError`` when it is not one)."""
    from prometheus_client.parser import text_string_to_metric_families  # noqa: PLC0415  (only wait reads metrics)

    found: dict[str, Any] = {"requests": 0.0, "failures": 0.0}
    users: float | None = None
    quantiles: dict[str, float] = {}
    thresholds: list[tuple[str, bool]] = []
    inconclusive: list[str] = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "locust_requests_total":
                found["requests"] += value
            elif name == "locust_request_failures_total":
                found["failures"] += value
            elif name == "locust_users":
                users = (users or 0.0) + value
            elif name in ("locust_users_target", "locust_iterations_target_per_second"):
                found["target"], found["open_model"] = value, name != "locust_users_target"
            elif name == "locust_runner_state" and value == 1:
                found["state"] = labels.get("state", "")
            elif name == "locust_scenario_info":
                found["scenario"], found["stage"] = labels.get("scenario", ""), labels.get("stage", "")
            elif name == "locust_threshold_passing":
                thresholds.append((labels.get("threshold", ""), value == 1))
            elif name == "locust_generator_inconclusive" and value == 1:
                inconclusive.append(labels.get("reason", ""))
            elif (
                name == "locust_request_duration_quantile_seconds"
                and labels.get("name") == AGGREGATED
                and labels.get("quantile") == "0.95"
            ):
                quantiles[labels.get("window", "run")] = value
    p95 = quantiles.get("current", quantiles.get("run"))
    return Snapshot(
        at=at, users=users, p95=p95, thresholds=tuple(thresholds), inconclusive=tuple(inconclusive), **found
    )


def _number(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _level(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def progress_line(current: Snapshot, previous: Snapshot | None, elapsed: float) -> str:
    """One line: elapsed time, profile and stage, users against plan, req/s, failures, p95, thresholds."""
    head = f"progress {format_duration(round(elapsed))} · {current.scenario or 'profile ?'}: {current.stage or '?'}"
    parts = [head]
    if current.state and current.state not in ("running", "spawning"):
        parts.append(f"runner {current.state}")
    users = "?" if current.users is None else f"{current.users:g}"
    if current.open_model:
        parts.append(f"users {users}, plan {_number(current.target or 0)} iterations/s")
    else:
        parts.append(f"users {users}/{'?' if current.target is None else _level(current.target)}")
    if previous is not None and current.at > previous.at and current.requests >= previous.requests:
        parts.append(f"{_number((current.requests - previous.requests) / (current.at - previous.at))} req/s")
    else:
        parts.append("? req/s")
    ratio = current.failures / current.requests if current.requests else 0.0
    parts.append(f"failures {ratio:.2%} of {current.requests:,.0f}")
    parts.append("p95 ?" if current.p95 is None else f"p95 {current.p95 * 1000:,.0f} ms")
    if not current.thresholds:
        parts.append("no thresholds")
    elif current.failing:
        parts.append(f"thresholds FAILING so far: {', '.join(current.failing)}")
    else:
        parts.append(f"thresholds passing so far ({len(current.thresholds)})")
    if current.inconclusive:
        parts.append(f"inconclusive so far: {', '.join(current.inconclusive)}")
    return " · ".join(parts)


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(str(k)) == str(v) for k, v in selector.items())


def find_metrics_service(services: Mapping[str, Any], pod_labels: Mapping[str, str]) -> str | None:
    """The Service that selects the master pod and has a port named ``metrics`` (either engine)."""
    for service in items_of(services, "Services"):
        spec = service.get("spec") or {}
        ports: Sequence[Any] = spec.get("ports") or []
        if _selects(spec.get("selector") or {}, pod_labels) and any(
            isinstance(p, dict) and p.get("name") == METRICS_PORT_NAME for p in ports
        ):
            return name_of(service, "Services")
    return None


class MetricsSource:
    """Reads the master's metrics through the API server's service proxy; says why when it cannot."""

    def __init__(self, kubectl: Kubectl, namespace: str) -> None:
        self.kubectl = kubectl
        self.namespace = namespace
        self.service: str | None = None

    def path(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/services/{self.service}:{METRICS_PORT_NAME}/proxy/metrics"

    def read(self, master_pod: Mapping[str, Any], at: float) -> Snapshot | str:
        """A snapshot, or one line saying why there is none yet."""
        try:
            if self.service is None:
                services = self.kubectl.json("get", "services", what="list the Services")
                self.service = find_metrics_service(services, labels_of(master_pod))
                if self.service is None:
                    return "no Service with a 'metrics' port selects the master (metrics.enabled: false?)"
            text = self.kubectl.raw(self.path(), what=f"read the master's metrics through service/{self.service}")
        except ToolError as error:
            return str(error)
        try:
            return parse_metrics(text, at)
        except ValueError as error:
            return f"the master's /metrics is not Prometheus text ({error})"
