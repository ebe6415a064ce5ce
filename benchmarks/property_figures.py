"""How many inputs the property-based tests try and how many the parsers refuse (docs/reliability.md).

Draws from the same strategies as ``tests/test_properties.py`` (300 examples per parser) and prints a
Markdown table: tried, refused with one line, accepted as valid. Any other outcome (a traceback)
would stop the script. Run from the repository root: ``python benchmarks/property_figures.py``.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.simplefilter("ignore")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from tests import test_properties as properties  # noqa: E402

from locust_scenarios import (  # noqa: E402
    ExporterSettings,
    ScenarioSettings,
    load_endpoints,
    parse_duration,
    parse_stages,
)
from locust_scenarios._exporter.buckets import parse_buckets  # noqa: E402
from locust_scenarios._settings.models import load_settings  # noqa: E402
from locust_scenarios._thresholds.grammar import parse as parse_thresholds  # noqa: E402

COUNTS: dict[str, list[int]] = {}
EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def record(name: str, parse: Callable[..., Any], *args: Any) -> None:
    """Count one input for ``name``: tried, and refused when ``parse`` raised its one-line error."""
    _, refused = properties._attempt(parse, *args)
    counts = COUNTS.setdefault(name, [0, 0])
    counts[0] += 1
    counts[1] += refused is not None


def inline_endpoints(document: object) -> None:
    """An inline JSON endpoints value, as the property test builds it."""
    try:
        text = json.dumps(document)
    except ValueError:
        return
    record("endpoints (inline JSON)", load_endpoints, text if text.startswith(("[", "{")) else f"[{text}]")


def scenario_option(field: str) -> str:
    """The parsed-option name of a scenario field."""
    return f"scenario_{field}" if field != "scenario" else "scenario"


def main() -> None:
    """Run every strategy and print the table."""
    text = properties.any_text
    listed = st.lists(properties.near_miss, max_size=6).map(",".join)
    EXAMPLES(given(text)(lambda value: record("durations", parse_duration, value)))()
    EXAMPLES(given(st.one_of(text, listed))(lambda value: record("thresholds", parse_thresholds, value)))()
    EXAMPLES(given(st.one_of(text, properties.stage_lists))(lambda value: record("stages", parse_stages, value)))()
    EXAMPLES(given(st.one_of(text, listed))(lambda value: record("buckets", parse_buckets, value)))()
    documents = st.one_of(st.lists(properties.endpoint_entries, max_size=4), properties.json_values)
    EXAMPLES(given(documents)(inline_endpoints))()
    headers = st.dictionaries(st.text(max_size=12), st.text(max_size=20), min_size=1, max_size=3)
    EXAMPLES(
        given(headers)(lambda value: record("endpoint headers", load_endpoints, [{"path": "/", "headers": value}]))
    )()
    EXAMPLES(
        given(properties.scenario_fields, text)(
            lambda field, value: record(
                "scenario settings", load_settings, ScenarioSettings, {scenario_option(field): value}
            )
        )
    )()
    EXAMPLES(
        given(properties.exporter_fields, text)(
            lambda field, value: record(
                "exporter settings", load_settings, ExporterSettings, {f"prometheus_{field}": value}
            )
        )
    )()
    tokens = st.text(min_size=4, max_size=40).map(lambda value: "tok-" + value)
    EXAMPLES(
        given(tokens)(
            lambda value: record("auth token", load_settings, ScenarioSettings, {"scenario_auth_token": value})
        )
    )()
    print("| parser | tried | refused in one line | accepted |")
    print("|---|---:|---:|---:|")
    total = [0, 0]
    for name, (tried, refused) in COUNTS.items():
        print(f"| {name} | {tried} | {refused} | {tried - refused} |")
        total = [total[0] + tried, total[1] + refused]
    print(f"| all | {total[0]} | {total[1]} | {total[0] - total[1]} |")


if __name__ == "__main__":
    main()
