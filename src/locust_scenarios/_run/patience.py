"""A worker's patience with its master: ``--scenario-master-wait`` and ``--scenario-master-retry-interval``.

A worker connects to its master, and gives up after Locust's ``CONNECT_RETRY_COUNT`` attempts
``CONNECT_TIMEOUT`` seconds apart (about 305 s), while its runner is created: before ``init`` fires.
So the options (rows of the option table's ``WORKER`` group) are applied to those two module
constants as soon as they are parsed (from the command line, the environment or a config file).
Only a worker ever reads them.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from locust import runners

from locust_scenarios._exitcodes import ExitCode
from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import WORKER, option_dest, parse_duration

__all__ = ["MasterPatience"]

_LOCUST_CONNECT_TIMEOUT = runners.CONNECT_TIMEOUT
_WAIT = option_dest(WORKER, "master_wait")
_INTERVAL = option_dest(WORKER, "master_retry_interval")


class MasterPatience(argparse.Action):
    """Applies the worker's patience to Locust's connect constants while the options are parsed.

    A bad value is invalid configuration: one line naming the variable and the option, exit 2.
    """

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        field = "master_retry_interval" if self.dest == _INTERVAL else "master_wait"
        try:
            seconds = parse_duration(values)
            if self.dest == _INTERVAL and seconds <= 0:
                raise ValueError("must be above zero")
        except ValueError as error:
            sys.stderr.write(f"locust-scenarios: {SettingsError.invalid(field, values, str(error), group=WORKER)}\n")
            raise SystemExit(ExitCode.INVALID_CONFIG) from None
        setattr(namespace, self.dest, seconds)
        interval = getattr(namespace, _INTERVAL, None) or _LOCUST_CONNECT_TIMEOUT
        runners.CONNECT_TIMEOUT = interval
        wait = getattr(namespace, _WAIT, None)
        if wait is not None:
            # Locust gives up once the attempt number exceeds the count: count + 1 attempts in all.
            runners.CONNECT_RETRY_COUNT = max(0, math.ceil(wait / interval) - 1)
