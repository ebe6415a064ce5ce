"""Each population's own requests: counted, failed and timed apart from Locust's totals.

Locust's statistics do not split by user class. A request fired from a user's greenlet is
attributed here to the population of that user's class (Locust spawns each user's greenlet with the
user as its first argument), and tallied like a custom trend in seconds: ``count`` is requests,
``trues`` failures, the distribution the response times rounded as Locust rounds them. A worker
sends its tallies with each report and starts again; the master adds them up (see ``_metrics``).

This module imports nothing of ours but ``_metrics``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

import gevent

from locust_scenarios._metrics import Definition, Registry, merged

__all__ = ["POPULATIONS", "POPULATIONS_KEY", "PopulationStats", "figures", "table"]

POPULATIONS_KEY: Final = "locust_scenarios_populations"
"""Where a worker's report to the master carries each population's request tallies."""


class PopulationStats(Registry):
    """The process's per-population request tallies and the map of user class to population."""

    def __init__(self) -> None:
        super().__init__(limit=1000)
        self.classes: dict[str, str] = {}
        """User class name → population name."""

    def configure(self, populations: Iterable[tuple[str, Iterable[str]]]) -> None:
        """The run's populations, each a name and its user class names (none: nothing is tallied)."""
        classes: dict[str, str] = {}
        with self._lock:
            self.definitions, self.tallies = {}, {}
        for name, class_names in populations:
            self.declare(Definition(name, "trend", "s", f"requests of population {name!r}"))
            for class_name in class_names:
                classes.setdefault(class_name, name)
        self.classes = classes

    def configure_from(self, profile: Any) -> None:
        """The populations of ``profile`` (a ``ScenarioShape``'s ``population_plans``; none: nothing is tallied)."""
        plans = getattr(profile, "population_plans", None) or ()
        self.configure((plan.name, plan.class_names()) for plan in plans)

    def on_request(self, response_time: float | None = None, exception: Any = None, **_kwargs: Any) -> None:
        """Locust's ``request`` event: tally the request under its user's population, if any."""
        if not self.classes:
            return
        arguments = getattr(gevent.getcurrent(), "args", None)
        if not arguments:
            return
        population = self.classes.get(type(arguments[0]).__name__)
        if population is None or population not in self.definitions:
            return
        self.observe(population, float(response_time or 0.0) / 1000, true=exception is not None)


POPULATIONS: Final = PopulationStats()
"""This process's per-population request tallies."""


def figures(stats: PopulationStats, duration: float | None) -> list[dict[str, Any]]:
    """Each population's requests, failures, fail ratio, rate and latencies, in declaration order
    (empty when the run has no populations)."""
    found = stats.snapshot()
    rows = []
    for name in stats.definitions:
        tally = merged(found.get(name, {}), (), {})
        row: dict[str, Any] = {"name": name, "requests": tally.count, "failures": tally.trues}
        row["fail_ratio"] = tally.trues / tally.count if tally.count else None
        row["rps"] = tally.count / duration if duration else None
        row["avg"] = tally.total / tally.count if tally.count else None
        for quantile in (0.5, 0.95, 0.99):
            row[f"p{round(quantile * 100)}"] = tally.percentile(quantile)
        row["max"] = tally.maximum
        rows.append({key: None if isinstance(v, float) and math.isnan(v) else v for key, v in row.items()})
    return rows


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.4g}ms" if value < 1 else f"{value:.4g}s"


def table(rows: Iterable[Mapping[str, Any]]) -> str:
    """The populations as a text table under the verdict: requests, failures, rate and latencies."""
    lines: list[tuple[str, ...]] = [("population", "requests", "failures", "rps", "avg", "p50", "p95", "p99")]
    for row in rows:
        rps = row.get("rps")
        lines.append(
            (
                str(row["name"]),
                str(row["requests"]),
                str(row["failures"]),
                "-" if rps is None else f"{rps:.4g}",
                *(_ms(row.get(key)) for key in ("avg", "p50", "p95", "p99")),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = [" ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines]
    text.insert(1, "-" * max(len(line) for line in text))
    return "\n".join(text)
