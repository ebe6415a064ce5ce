"""How many inputs the run-record property tests try, and what becomes of them (docs/reliability.md).

Draws from the strategies of ``tests/test_record_properties.py`` (300 examples per strategy by default,
as the tests; ``--examples N`` for a longer fuzz) and prints a Markdown table: tried, refused with one
line, loaded and rendered by every renderer (HTML, Markdown, JUnit, compare both ways). Any other
outcome (a traceback, a second line, unparsable JUnit) stops the script with the failing input.
Run from the repository root: ``python benchmarks/record_fuzz_figures.py [--examples 3000]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.simplefilter("ignore")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from tests import test_record_properties as properties  # noqa: E402
from tests.test_properties import _one_line  # noqa: E402
from tests.test_record_validation import real_record  # noqa: E402

from locust_scenarios._records.validation import RecordError, check_record, parse_record  # noqa: E402

COUNTS: dict[str, list[int]] = {}


def judge(name: str, text: str) -> None:
    """Load ``text``; count it as refused (one line) or as loaded, then rendered by every renderer."""
    counts = COUNTS.setdefault(name, [0, 0, 0])
    counts[0] += 1
    try:
        loaded = check_record(parse_record(text))
    except RecordError as refused:
        _one_line(str(refused))
        counts[1] += 1
        return
    properties._renders(loaded, real_record())
    counts[2] += 1


def damaged(data: st.DataObject) -> None:
    """A real record with one node replaced, removed or added."""
    judge("damaged real records", json.dumps(properties._mutate(data, real_record())))


def valid(record: dict[str, Any], other: dict[str, Any]) -> None:
    """A schema-valid record with hostile text and extreme numbers, compared with another."""
    counts = COUNTS.setdefault("schema-valid records", [0, 0, 0])
    counts[0] += 1
    properties._renders(check_record(json.loads(json.dumps(record))), check_record(json.loads(json.dumps(other))))
    counts[2] += 1


def main() -> None:
    """Run every strategy and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="examples per strategy (default 300)")
    examples = parser.parse_args().examples
    run = settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    run(given(properties.json_values)(lambda document: judge("any JSON value", json.dumps(document))))()
    texts = st.one_of(st.text(max_size=80), st.text(alphabet='[]{}",:0123456789 \\"', max_size=400))
    run(given(texts)(lambda text: judge("any text", text)))()
    run(given(st.data())(damaged))()
    run(given(properties.valid_records(), properties.valid_records())(valid))()
    print("| input | tried | refused in one line | loaded and rendered |")
    print("|---|---:|---:|---:|")
    total = [0, 0, 0]
    for name, counts in COUNTS.items():
        print(f"| {name} | {counts[0]} | {counts[1]} | {counts[2]} |")
        total = [a + b for a, b in zip(total, counts, strict=True)]
    print(f"| all | {total[0]} | {total[1]} | {total[2]} |")


if __name__ == "__main__":
    main()
