"""The process exit codes of every entry point (local run, master, the chart's Jobs, the CLI).

One definition that code, tests and docs use. When several apply, the most severe wins in the order
of :data:`PRECEDENCE`: invalid configuration, then a failed external tool (only the host-side
commands run one), then an interrupted profile, then a failed threshold, then an inconclusive run, then
Locust's own "some request failed", then a pass.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["PRECEDENCE", "ExitCode", "most_severe"]


class ExitCode(IntEnum):
    """What a run's exit code means."""

    PASSED = 0
    """The run completed and every threshold passed (or no thresholds and no failed request)."""
    REQUEST_FAILED = 1
    """No thresholds configured and some request failed (Locust's own rule, unchanged)."""
    INVALID_CONFIG = 2
    """Invalid configuration, detected before any load (settings, threshold syntax, bundle limits)."""
    THRESHOLD_FAILED = 3
    """A threshold failed, at the end or by abort during the run (as locust-plugins' checks and Taurus)."""
    INTERRUPTED = 4
    """Interrupted before the profile completed (SIGTERM, Ctrl-C): never reported as a pass."""
    INCONCLUSIVE = 5
    """The load generator could not deliver the plan, so the measurements cannot be trusted."""
    TOOL_FAILED = 6
    """An external tool the command runs (kubectl) is missing, failed or did not answer in time."""

    @property
    def meaning(self) -> str:
        """The one-line meaning, as the docs' exit-code table states it."""
        return _MEANINGS[self]


_MEANINGS = {
    ExitCode.PASSED: "the run completed and every threshold passed (or no thresholds and no failed request)",
    ExitCode.REQUEST_FAILED: "no thresholds configured and some request failed (Locust's own rule)",
    ExitCode.INVALID_CONFIG: "invalid configuration, detected before any load",
    ExitCode.THRESHOLD_FAILED: "a threshold failed, at the end or by abort during the run",
    ExitCode.INTERRUPTED: "interrupted before the profile completed (SIGTERM, Ctrl-C)",
    ExitCode.INCONCLUSIVE: "inconclusive: the load generator could not deliver the plan",
    ExitCode.TOOL_FAILED: "an external tool (kubectl) is missing, failed or did not answer in time",
}

PRECEDENCE: tuple[ExitCode, ...] = (
    ExitCode.INVALID_CONFIG,
    ExitCode.TOOL_FAILED,
    ExitCode.INTERRUPTED,
    ExitCode.THRESHOLD_FAILED,
    ExitCode.INCONCLUSIVE,
    ExitCode.REQUEST_FAILED,
    ExitCode.PASSED,
)
"""Exit codes from the most to the least severe."""


def most_severe(*codes: int | None) -> int:
    """The code that wins among ``codes`` by :data:`PRECEDENCE` (``None`` ignored; unknown codes rank first)."""
    known = [code for code in codes if code is not None]
    if not known:
        return ExitCode.PASSED

    def rank(code: int) -> int:
        try:
            return PRECEDENCE.index(ExitCode(code))
        except ValueError:
            return -1  # a code nobody here defined (a crash, a signal) is never masked

    return min(known, key=rank)
