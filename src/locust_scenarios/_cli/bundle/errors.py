"""The bundle's refusal: one line naming what and the limit."""

from __future__ import annotations

from locust_scenarios._exitcodes import ExitCode

__all__ = ["BundleError"]


class BundleError(Exception):
    """The bundle cannot be made; ``str()`` is one line naming what and the limit."""

    exit_code = ExitCode.INVALID_CONFIG
