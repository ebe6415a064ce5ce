"""The Prometheus text format (0.0.4) as the collector writes it: families, headers, labels, numbers.

Written here rather than through prometheus_client so that serving metrics does not import it, and so
that label strings are escaped once per request name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from .labels import clean_label

__all__ = ["CONTENT_TYPE", "FAMILIES", "Family", "format_float", "format_number", "header", "render_labels"]


CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text format ``render()`` writes."""


def format_float(value: float) -> str:
    """A float as Go spells it, and so prometheus_client (``le`` values must match its output).

    ``+Inf``, ``-Inf``, ``NaN``; Python's shortest repr otherwise, except that positive values from a
    million on switch to an exponent (``1.5e+06``) as Go does. Written here so that serving metrics
    does not import prometheus_client (tests compare it with ``prometheus_client.utils.floatToGoString``).
    """
    value = float(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    text = repr(value)
    point = text.find(".")
    if value > 0 and point > 6:
        digits = text[:point] + text[point + 1 :]
        mantissa = f"{digits[0]}.{digits[1:]}".rstrip("0.")
        return f"{mantissa}e+{point - 1:02d}"
    return text


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def render_labels(pairs: Mapping[str, str]) -> str:
    return ",".join(f'{key}="{_escape(value)}"' for key, value in pairs.items())


def format_number(value: float) -> str:
    return str(value) if isinstance(value, int) else format_float(value)


FAMILIES: Final[Mapping[str, tuple[str, str]]] = {
    "locust_requests": ("counter", "Requests made, by method and request name (failures included)."),
    "locust_request_failures": ("counter", "Requests that failed, by method and request name."),
    "locust_request_duration_seconds": (
        "histogram",
        "Response times from Locust's rounded distribution, by method and request name.",
    ),
    "locust_response_size_bytes": ("counter", "Bytes of response content received, by method and request name."),
    "locust_errors": ("counter", "Failed requests by method, request name and normalised error message."),
    "locust_users": ("gauge", "Users running now, by user class (summed over workers)."),
    "locust_users_target": ("gauge", "Users the scenario plans at this moment (its profile's target)."),
    "locust_iterations_target_per_second": (
        "gauge",
        "Iterations per second the scenario plans at this moment (open-model profiles).",
    ),
    "locust_workers": ("gauge", "Connected workers by state (all zero without workers)."),
    "locust_workers_expected": ("gauge", "Workers the master waits for (--expect-workers)."),
    "locust_runner_state": ("gauge", "1 for the runner's current state, 0 for the others."),
    "locust_scenario_info": ("gauge", "The running scenario, its current stage and the run id (always 1)."),
    "locust_threshold_passing": ("gauge", "1 while a threshold passes on the run so far, 0 when it fails."),
    "locust_threshold_value": (
        "gauge",
        "The measured value of a threshold's aggregate (seconds, fraction, per second or count).",
    ),
    "locust_threshold_limit": ("gauge", "The limit a threshold compares against, in the same unit as its value."),
    "locust_request_duration_quantile_seconds": (
        "summary",
        "Response-time quantiles exactly as Locust computes them, over the run or its current window.",
    ),
    "locust_generator_cpu_usage_ratio": (
        "gauge",
        "CPU usage of each load generator process (worker, master or local runner), 1 = one core.",
    ),
    "locust_generator_users": ("gauge", "Users running in each load generator process."),
    "locust_generator_state": ("gauge", "1 for each load generator process's current state."),
    "locust_generator_heartbeat_age_seconds": ("gauge", "Seconds since the master last heard each worker."),
    "locust_generator_loop_lag_seconds": (
        "gauge",
        "Mean delay of each generator process's event loop over its last second (a worker's: since its last report).",
    ),
    "locust_iterations": ("counter", "Open-model iterations started, summed over every worker."),
    "locust_iterations_late": ("counter", "Open-model iterations started late, summed over every worker."),
    "locust_iterations_dropped": (
        "counter",
        "Open-model iterations dropped after a stall, summed over every worker.",
    ),
    "locust_users_tracking_error_ratio": (
        "gauge",
        "Share of the planned user-seconds not running, over the run so far (0 = on plan).",
    ),
    "locust_iterations_tracking_error_ratio": (
        "gauge",
        "Share of the planned open-model iterations not started, over the run so far (0 outside the open model).",
    ),
    "locust_generator_inconclusive": (
        "gauge",
        "1 for each reason the run is inconclusive so far (the load generator could not deliver the plan).",
    ),
    "locust_generator_warning": (
        "gauge",
        "1 for each warning about the load generator so far (high CPU: no headroom, timing still held).",
    ),
    "locust_exporter_scrape_duration_seconds": (
        "gauge",
        "Time the previous scrape took to render, its pauses for the event loop included.",
    ),
}


def header(name: str) -> str:
    kind, text = FAMILIES[name]
    exposed = f"{name}_total" if kind == "counter" else name
    return f"# HELP {exposed} {text}\n# TYPE {exposed} {kind}\n"


class Family:
    """A small family being built: its samples, and their text lines."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.suffix = "_total" if FAMILIES[name][0] == "counter" else ""
        self.samples: list[tuple[dict[str, str], float]] = []
        self.lines: list[str] = []
        self.label_names: list[str] = []

    def add(self, labels: dict[str, str], value: float) -> None:
        """One sample: its labels are made valid UTF-8 and escaped here."""
        labels = {key: clean_label(value) for key, value in labels.items()}
        self.add_clean(tuple(labels.values()), value, render_labels(labels), tuple(labels))

    def add_clean(self, values: tuple[str, ...], value: float, text: str, names: tuple[str, ...]) -> None:
        """One sample whose label ``values`` are already valid, with their escaped ``text`` (``a="1",b="2"``)."""
        if not self.label_names:
            self.label_names = list(names)
        self.samples.append((dict(zip(self.label_names, values, strict=True)), value))
        braces = f"{{{text}}}" if text else ""
        self.lines.append(f"{self.name}{self.suffix}{braces} {format_number(value)}\n")
