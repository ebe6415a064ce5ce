"""The locustfile's custom metrics as ``locust_custom_<name>`` families (Prometheus naming).

A trend is a summary (exact quantiles 0.5, 0.9, 0.95 and 0.99, with ``_sum`` and ``_count``), named
``..._seconds`` when its unit is seconds; a counter is ``..._total``; a rate is its share of true
values as ``..._ratio`` and its observations as ``..._total``; a gauge is its latest value. A labelled
metric has one series per label set, with its labels; observations refused beyond the label set bound
are counted in ``locust_exporter_custom_refused_total{metric=NAME}``.

A shape's populations add three small families labelled by ``population`` only (never by request:
the request families keep their labels): ``locust_population_requests_total``,
``locust_population_failures_total`` and the summary ``locust_population_response_time_seconds``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from locust_scenarios._metrics import Definition, Registry, Tally, measure, merged
from locust_scenarios._population_stats import POPULATIONS

from .exposition import format_float, format_number, render_labels
from .labels import clean_label

__all__ = ["custom_families", "render_custom"]

_QUANTILES = (0.5, 0.9, 0.95, 0.99)


Sample = tuple[str, dict[str, str], float]
_Family = tuple[str, str, str, list[Sample]]


def _population_families() -> Iterator[_Family]:
    """Each population's requests, failures and response times (none without populations)."""
    tallies = {name: merged(series, (), {}) for name, series in POPULATIONS.snapshot().items()}
    if not tallies:
        return
    requests: list[Sample] = []
    failures: list[Sample] = []
    times: list[Sample] = []
    base = "locust_population_response_time_seconds"
    for name, tally in tallies.items():
        requests.append(("locust_population_requests_total", {"population": name}, float(tally.count)))
        failures.append(("locust_population_failures_total", {"population": name}, float(tally.trues)))
        times.extend(_summary(base, {"population": name}, tally))
    yield "locust_population_requests", "counter", "Requests made by each population's users.", requests
    yield "locust_population_failures", "counter", "Failed requests of each population's users.", failures
    yield base, "summary", "Response times of each population's requests.", times


def _families(registry: Registry) -> Iterator[_Family]:
    """Each family: its name, type, help text and samples (sample name, labels, value)."""
    yield from _population_families()
    tallies = registry.snapshot()
    for name in sorted(tallies):
        definition = registry.definitions[name]
        help_text = definition.description or f"Custom {definition.kind} {name} (locust_scenarios.metrics)."
        base = f"locust_custom_{name}"
        series = [
            ({label: clean_label(value) for label, value in zip(definition.labels, values, strict=True)}, tally)
            for values, tally in sorted((tallies[name] or ({} if definition.labels else {(): Tally()})).items())
        ]
        if definition.kind == "trend":
            base += "_seconds" if definition.unit == "s" else ""
            yield base, "summary", help_text, [s for labels, tally in series for s in _summary(base, labels, tally)]
        elif definition.kind == "counter":
            yield base, "counter", help_text, [(f"{base}_total", labels, tally.total) for labels, tally in series]
        elif definition.kind == "rate":
            shares = [(labels, _share(definition, tally)) for labels, tally in series]
            ratios: list[Sample] = [(f"{base}_ratio", labels, share) for labels, share in shares if share is not None]
            if ratios:
                yield f"{base}_ratio", "gauge", help_text, ratios
            counts: list[Sample] = [(f"{base}_total", labels, tally.count) for labels, tally in series]
            yield base, "counter", f"Values recorded by the custom rate {name}.", counts
        else:
            values = [(base, labels, tally.last) for labels, tally in series if tally.last is not None]
            if values:
                yield base, "gauge", help_text, values
    refused = [
        ("locust_exporter_custom_refused_total", {"metric": name}, float(n))
        for name, n in sorted(registry.refused.items())
    ]
    if refused:
        help_text = "Custom metric observations refused: their label set was beyond the bound."
        yield "locust_exporter_custom_refused", "counter", help_text, refused


def _share(definition: Definition, tally: Tally) -> float | None:
    return measure(definition, tally, "rate", None)


def _summary(base: str, labels: dict[str, str], tally: Tally) -> list[Sample]:
    samples: list[Sample] = []
    for quantile in _QUANTILES:
        value = tally.percentile(quantile)
        if value is not None:
            samples.append((base, labels | {"quantile": format_float(quantile)}, value))
    samples.append((f"{base}_sum", labels, tally.total))
    samples.append((f"{base}_count", labels, tally.count))
    return samples


def render_custom(registry: Registry) -> str:
    """The custom families in the Prometheus text format (empty without custom metrics)."""
    lines = []
    for name, kind, help_text, samples in _families(registry):
        exposed = f"{name}_total" if kind == "counter" else name
        lines.append(f"# HELP {exposed} {help_text}\n# TYPE {exposed} {kind}\n")
        for sample, labels, value in samples:
            text = render_labels(labels)
            lines.append(f"{sample}{{{text}}}" if text else sample)
            lines.append(f" {format_number(value)}\n")
    return "".join(lines)


def custom_families(registry: Registry) -> Iterator[Any]:
    """The custom families as prometheus_client metric families (for the Pushgateway push)."""
    from prometheus_client.metrics_core import Metric  # noqa: PLC0415  (only the push needs it)

    for name, kind, help_text, samples in _families(registry):
        metric = Metric(name, help_text, kind)
        for sample, labels, value in samples:
            metric.add_sample(sample, labels, value)
        yield metric
