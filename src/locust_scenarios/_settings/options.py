"""Our Locust options without pydantic: their names, the option table and units.

Every Locust process imports the package, and Locust builds its option parser (the
``init_command_line_parser`` event) before ``init``. Registering our options therefore must not need
pydantic: ``OPTIONS`` lists every field of the settings models with its help text, and
``add_options`` registers them from that table. ``models`` builds the pydantic models with these
help texts and validates the values at ``init``; a test checks that the table and the models agree
field for field.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from locust.argument_parser import get_empty_argument_parser

__all__ = [
    "BUILTIN_SCENARIOS",
    "DEFAULT_THINK_TIME",
    "EXPORTER",
    "FORM_FIELDS",
    "LOCUST_HOST",
    "MAX_DURATION",
    "MAX_LOCAL_USERS",
    "MAX_RATE",
    "MAX_USERS",
    "OPTIONS",
    "SCENARIO",
    "SECRET_FIELDS",
    "WORKER",
    "Option",
    "OptionGroup",
    "Setting",
    "add_options",
    "env_name",
    "environment_options",
    "field_names",
    "format_duration",
    "help_text",
    "install_hint",
    "option_dest",
    "option_name",
    "option_values",
    "parse_duration",
    "parse_ratio",
    "setting",
    "shown",
    "suggest",
    "unknown_variable_warnings",
]


BUILTIN_SCENARIOS = ("smoke", "load", "stress", "spike", "endurance", "breakpoint")
"""The six test types every locustfile can run by name (``LOCUST_SCENARIO``)."""

DEFAULT_THINK_TIME = "1s"
"""The user templates' wait between iterations when nothing else is set: a smoke test stays gentle."""

MAX_USERS = 100_000
"""The most users a setting may ask for: beyond this, spawning alone starves the process."""

MAX_LOCAL_USERS = 10_000
"""The most users one Locust process without workers runs (more need ``--processes`` or workers)."""

MAX_RATE = 1_000_000.0
"""The most iterations per second a setting may ask for."""

MAX_DURATION = 366 * 86400.0
"""The longest duration a setting may hold (a year and a day)."""

_SHOWN_LIMIT = 80


def shown(value: object, limit: int = _SHOWN_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters: one line, however long or odd the value."""
    text = repr(str(value)) if not isinstance(value, int | float) else repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}…({len(str(value))} characters)"


_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|d|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Seconds from ``500ms``, ``90s``, ``5m``, ``1h30m``, ``2d`` or a plain number of seconds.

    A regular expression over five units rather than a dependency: pydantic's timedelta accepts only
    ISO 8601 and numbers, and Locust's own parser rejects ``ms``.
    """
    if isinstance(value, bool):
        raise ValueError("must be a duration such as 500ms, 90s, 5m or 1h30m")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip().lower().replace(" ", "")
        if not text.isascii():  # float() would read full-width and Arabic-Indic digits
            raise ValueError("must be a duration such as 500ms, 90s, 5m or 1h30m (ASCII digits)")
        try:
            seconds = float(text)
        except ValueError:
            parts = _DURATION_PART.findall(text)
            if not text or "".join(n + u for n, u in parts) != text:
                raise ValueError("must be a duration such as 500ms, 90s, 5m or 1h30m") from None
            seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("must be a duration of zero or more, such as 500ms, 90s, 5m or 1h30m")
    if seconds > MAX_DURATION:
        raise ValueError("must be a duration of at most 366d")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest of ``1h30m``, ``90s``-style spellings for a number of seconds (inverse of parse)."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    whole = round(seconds)
    if abs(seconds - whole) > 1e-9:
        return f"{seconds:g}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


def ascii_float(text: str) -> float:
    """``float(text)`` for ASCII text only (``float`` alone reads full-width and Arabic-Indic digits too)."""
    if not text.isascii():
        raise ValueError(f"{text!r} is not a number written in ASCII digits")
    return float(text)


def parse_ratio(value: object) -> float:
    """A fraction from ``5%`` or ``0.05``."""
    text = str(value).strip()
    if not text.isascii():  # float() would read full-width and Arabic-Indic digits
        raise ValueError("must be a percentage such as 5% or a fraction such as 0.05 (ASCII digits)")
    try:
        ratio = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError("must be a percentage such as 5% or a fraction such as 0.05") from None
    if not 0 <= ratio <= 1:
        raise ValueError("must be between 0% and 100%")
    return ratio


@dataclass(frozen=True)
class OptionGroup:
    """How the fields of one settings model are spelt as options and environment variables.

    ``bare`` is the field named by the prefix alone (``--scenario`` / ``LOCUST_SCENARIO``).
    """

    option_prefix: str
    env_prefix: str
    bare: str | None = None


SCENARIO = OptionGroup("--scenario-", "LOCUST_SCENARIO_", bare="scenario")
EXPORTER = OptionGroup("--prometheus-", "LOCUST_PROMETHEUS_")
WORKER = OptionGroup("--scenario-", "LOCUST_SCENARIO_")
"""A worker's patience with its master: applied while the options are parsed (a worker connects before
``init``), so no settings model holds them and the web UI does not offer them."""


@dataclass(frozen=True)
class Option:
    """One setting as a Locust option: its group, field, help text, and whether the web UI offers it.

    ``form=False``: a start-up setting only (a path the run writes or reads, the origins the token may
    go to, output switches): the web UI's form neither shows it nor accepts it. Secrets are never
    offered either.
    """

    group: OptionGroup
    field: str
    help: str
    secret: bool = False
    form: bool = True
    flag: bool = False
    """A yes/no setting: the option alone means yes (``--scenario-abort-on-fail``), or takes a value."""


OPTIONS: tuple[Option, ...] = (
    Option(
        SCENARIO,
        "scenario",
        "test type to run: smoke, load, stress, spike, endurance, breakpoint, or a registered name",
    ),
    Option(SCENARIO, "users", "the most users the profile will ever run"),
    Option(SCENARIO, "rate", "open model: the most iterations per second; the profile then shapes throughput"),
    Option(SCENARIO, "duration", "total planned duration of the profile"),
    Option(SCENARIO, "ramp_up", "time to ramp from zero to the first level"),
    Option(SCENARIO, "ramp_down", "time to ramp back to zero at the end"),
    Option(SCENARIO, "hold", "time held at a peak (spike) or at each step"),
    Option(SCENARIO, "spawn_rate", "users per second for steps that have no ramp of their own"),
    Option(SCENARIO, "steps", "number of steps (stress and breakpoint staircases)"),
    Option(SCENARIO, "baseline", "baseline level as a share of users (spike)"),
    Option(SCENARIO, "stages", "declarative stages, 'DURATION:TARGET' separated by commas, e.g. '30s:10,1m:10,30s:0'"),
    Option(SCENARIO, "trough", "diurnal: the lowest level as a share of the peak"),
    Option(SCENARIO, "period", "diurnal: run time of one daily cycle (default: the whole duration)"),
    Option(SCENARIO, "phase", "diurnal: where in the cycle the run starts (0 at the trough, 50% at the peak)"),
    Option(SCENARIO, "harmonics", "diurnal: shorter cycles added to the daily one, 'ORDER:AMPLITUDE,...' e.g. '2:0.3'"),
    Option(
        SCENARIO,
        "replay_source",
        "replay: a CSV file of 't,value' rows, or a Prometheus URL (with replay_query)",
        form=False,
    ),
    Option(SCENARIO, "replay_query", "replay: the PromQL query whose range is replayed (summed over its series)"),
    Option(SCENARIO, "replay_range", "replay: how far back the PromQL range reaches from the start of the run"),
    Option(
        SCENARIO, "think_time", "wait between iterations of the user templates: '1s' or a range '1s-3s' ('0' for none)"
    ),
    Option(SCENARIO, "pacing", "each iteration of the user templates starts at least this long after the last"),
    Option(SCENARIO, "populations", "several populations in one run: a TOML file of [[population]] tables", form=False),
    Option(SCENARIO, "arrivals", "open model: how iterations arrive, 'uniform' (an even grid) or 'poisson' (random)"),
    Option(SCENARIO, "seed", "seed of the random arrivals (and other draws) so that a run repeats itself"),
    Option(
        SCENARIO,
        "max_users",
        "open model: grow the pool of users up to this many when iterations would start late",
    ),
    Option(
        SCENARIO,
        "endpoints",
        "endpoints of the config-driven user: a TOML, JSON or YAML file, or inline JSON",
        form=False,
    ),
    Option(
        SCENARIO,
        "auth_token",
        "token the user templates send in the auth header, to the target's origin only",
        secret=True,
    ),
    Option(SCENARIO, "auth_header", "header that carries the auth token"),
    Option(SCENARIO, "auth_scheme", "scheme written before the token ('none' for the bare token)"),
    Option(
        SCENARIO,
        "auth_origins",
        "other origins that may receive the token too, e.g. 'https://auth.example.com' ('*': any)",
        form=False,
    ),
    Option(SCENARIO, "request_timeout", "the user templates' connect and response timeout per request (default 60s)"),
    Option(SCENARIO, "thresholds", "pass/fail criteria, e.g. 'p95<500ms,fail_ratio<1%,rps>50'"),
    Option(SCENARIO, "stop_on", "breakpoint: criteria that must hold; the run stops at the first breach"),
    Option(SCENARIO, "abort_on_fail", "stop the run as soon as a threshold fails", flag=True),
    Option(SCENARIO, "abort_grace", "no abort during this first part of the run"),
    Option(SCENARIO, "summary", "write the verdict and summary as JSON to this path", form=False),
    Option(
        SCENARIO,
        "trust",
        "judge the load generator (exit 5 when it missed the plan); 'off' keeps only 'no request'",
        flag=True,
    ),
    Option(SCENARIO, "trust_cpu", "CPU usage of a generator process that is warned about (never inconclusive alone)"),
    Option(SCENARIO, "trust_lag", "mean event-loop delay of a generator process in a second that counts as late"),
    Option(
        SCENARIO, "trust_cpu_share", "share of the run a generator process may spend late (or over the CPU warning)"
    ),
    Option(SCENARIO, "trust_tracking", "largest shortfall of users or iterations/s against the plan, over the run"),
    Option(SCENARIO, "trust_late", "largest share of open-model iterations started late or dropped"),
    Option(
        SCENARIO,
        "trust_worker_grace",
        "time a lost worker's users may stay below the plan before the run is inconclusive",
    ),
    Option(SCENARIO, "record", "write the run record (versioned JSON, see reports) to this path", form=False),
    Option(SCENARIO, "report", "write the self-contained HTML report of the run to this path", form=False),
    Option(
        SCENARIO,
        "record_log",
        "also print the run record, compressed, as one log line (for `locust-scenarios fetch`)",
        form=False,
        flag=True,
    ),
    Option(
        SCENARIO,
        "tags",
        "tags of the run record, 'key=value' separated by commas, e.g. 'environment=staging'",
        form=False,
    ),
    Option(
        SCENARIO, "baseline_record", "run record that thresholds such as 'p95<baseline+10%' compare against", form=False
    ),
    # Where the master sends its Prometheus credentials: start-up settings, never from the web UI's form.
    Option(
        SCENARIO,
        "prometheus_url",
        "Prometheus that judges 'promql:' thresholds, e.g. 'http://prometheus:9090'",
        form=False,
    ),
    Option(SCENARIO, "prometheus_token", "bearer token sent to the Prometheus of 'promql:' thresholds", secret=True),
    Option(SCENARIO, "prometheus_user", "basic-auth user name for the Prometheus of 'promql:' thresholds", form=False),
    Option(SCENARIO, "prometheus_password", "basic-auth password for that Prometheus", secret=True),
    Option(
        SCENARIO,
        "prometheus_ca_bundle",
        "CA bundle (PEM file) that verifies that Prometheus' HTTPS certificate",
        form=False,
    ),
    Option(SCENARIO, "prometheus_timeout", "how long one query to that Prometheus may take", form=False),
    Option(SCENARIO, "trace", "share of requests the user templates send a W3C traceparent with (0 to 1)"),
    Option(EXPORTER, "port", "serve /metrics on this port (0 = any free port)"),
    Option(EXPORTER, "host", "address the metrics port binds to"),
    Option(EXPORTER, "linger", "keep serving after the run so the final state is scraped"),
    Option(EXPORTER, "max_names", "request names exported before the rest fold into one"),
    Option(EXPORTER, "buckets", "latency histogram buckets, e.g. '5ms,10ms,50ms,100ms,1s'"),
    Option(EXPORTER, "pushgateway", "push the final state to this Pushgateway URL"),
    Option(EXPORTER, "run_id", "run id label on locust_scenario_info (default: generated)"),
    Option(
        WORKER,
        "master_wait",
        "worker: how long to wait for the master before giving up (Locust's own limit is about 305 s)",
    ),
    Option(WORKER, "master_retry_interval", "worker: time between attempts to reach the master (Locust's default 5 s)"),
)
"""Every setting: the settings models' fields in their order (a test keeps the two in step), then the
worker's patience options."""


SECRET_FIELDS: frozenset[str] = frozenset(option.field for option in OPTIONS if option.secret)
"""Fields whose values never travel as options or appear in messages and logs (the auth token)."""

FORM_FIELDS: tuple[str, ...] = tuple(
    option.field for option in OPTIONS if option.group is SCENARIO and option.form and not option.secret
)
"""The scenario settings the web UI's form offers and accepts, in the models' order; the others are
start-up settings (secrets, the token's origins, paths the run reads or writes)."""


def field_names(group: OptionGroup) -> tuple[str, ...]:
    """The settings fields of a group, in the models' order."""
    return tuple(option.field for option in OPTIONS if option.group is group)


def help_text(group: OptionGroup, field: str) -> str:
    """The help text of a field, from the option table (the settings models' descriptions)."""
    for option in OPTIONS:
        if option.group is group and option.field == field:
            return option.help
    raise KeyError(f"no option for {field!r} in {group.env_prefix}*")


def _group(model: object) -> OptionGroup:
    """A group as given, or the one a settings model names in its ``options`` class attribute."""
    group = model if isinstance(model, OptionGroup) else getattr(model, "options", None)
    if not isinstance(group, OptionGroup):
        raise TypeError(f"{model!r} is not an option group or a settings model")
    return group


def option_name(model: object, field: str) -> str:
    """The Locust command-line option of a field (``--scenario-users``; ``--scenario`` for the name).

    ``model`` is a settings model (``ScenarioSettings``) or its ``OptionGroup``.
    """
    group = _group(model)
    if field == group.bare:
        return group.option_prefix.removesuffix("-")
    return group.option_prefix + field.replace("_", "-")


def env_name(model: object, field: str) -> str:
    """The environment variable of a field (``LOCUST_SCENARIO_USERS``; ``LOCUST_SCENARIO``)."""
    group = _group(model)
    if field == group.bare:
        return group.env_prefix.removesuffix("_")
    return group.env_prefix + field.upper()


def option_dest(model: object, field: str) -> str:
    """The attribute name of a field on Locust's parsed options (``scenario_users``)."""
    return option_name(model, field).removeprefix("--").replace("-", "_")


@dataclass(frozen=True)
class Setting:
    """How a setting is named to people: its environment variable (or another name) and where it is set."""

    name: str
    """``LOCUST_SCENARIO_USERS``; for values that are not settings, e.g. ``Api.host``."""
    where: str
    """``--scenario-users``; for values that are not settings, e.g. ``class attribute``."""
    secret: bool = False
    """Whether its value is never shown."""


def setting(field: str, group: OptionGroup = SCENARIO) -> Setting:
    """A setting of the option table, named by its variable and its option (``KeyError`` if unknown)."""
    for option in OPTIONS:
        if option.group is group and option.field == field:
            return Setting(env_name(group, field), option_name(group, field), option.secret)
    raise KeyError(f"no option for {field!r} in {group.env_prefix}*")


LOCUST_HOST = Setting("LOCUST_HOST", "-H/--host")
"""Locust's own target host, which the user templates need."""


class _Offered(list[str]):
    """Names the web UI offers as a choice list, while any value still parses.

    Locust's form renders an option's ``choices`` as a select. Checking the value stays with our
    validation, which names the variable and suggests the closest name instead of argparse's error.
    """

    def __contains__(self, item: object) -> bool:
        return True


def add_options(
    parser: Any,
    scenario_choices: Sequence[str] = (),
    actions: Mapping[OptionGroup, type[argparse.Action]] | None = None,
) -> None:
    """Register every setting as a Locust option on ``parser`` (a Locust argument parser).

    Defaults are ``None`` so that "not given" stays distinguishable from a value; pydantic fills
    defaults later, after ``.env`` and class attributes had their say. ``scenario_choices`` become the
    web UI's choice list for the profile. The exporter's options apply only at start-up (a port, a
    run id), so the web UI does not offer them; neither does it show secrets. ``actions`` gives the
    argparse action of a group's options (the worker's patience is applied while parsing).
    """
    # Straight on the parser, not in an argument group: only Locust's parser itself understands
    # include_in_web_ui, which keeps secrets out of the web UI and the master-to-worker messages' form.
    for option in OPTIONS:
        extra: dict[str, Any] = {}
        if option.group is SCENARIO and option.field == "scenario" and scenario_choices:
            extra["choices"] = _Offered(scenario_choices)
            extra["metavar"] = "NAME"
        if actions and option.group in actions:
            extra["action"] = actions[option.group]
        if option.flag:
            extra.update(nargs="?", const="true", metavar="{true,false}")
        parser.add_argument(
            option_name(option.group, option.field),
            dest=option_dest(option.group, option.field),
            env_var=env_name(option.group, option.field),
            default=None,
            help=option.help.replace("%", "%%"),
            include_in_web_ui=option.group is SCENARIO and option.form and not option.secret,
            **extra,
        )


def option_values(options: Any, group: OptionGroup = SCENARIO, extra: Sequence[str] = ()) -> dict[str, Any]:
    """The values of a group's options (and of Locust's options named in ``extra``) in parsed ``options``.

    What a group's settings are validated from: while these stay the same, so do the settings.
    ``options`` is Locust's namespace or a mapping of the same names.
    """
    found = options if isinstance(options, Mapping) else vars(options) if options is not None else {}
    names = [option_dest(group, option.field) for option in OPTIONS if option.group is group]
    return {name: found.get(name) for name in (*names, *extra)}


def environment_options(args: Sequence[str] = ()) -> Any:
    """Our options parsed as Locust would (``args``, then the environment, then config files).

    For code that runs outside a Locust process, such as a preview or a test building its own
    ``Environment``: it sees the same values a real run would.
    """
    parser = get_empty_argument_parser(add_help=False)
    add_options(parser)
    namespace, _ = parser.parse_known_args(args=list(args))
    return namespace


_SERVICE_LINK = re.compile(
    r"[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)"
)
"""The variables Kubernetes gives a pod for every Service of its namespace (service links): a Service
named ``locust-scenarios`` yields ``LOCUST_SCENARIOS_SERVICE_HOST``, ``LOCUST_SCENARIOS_PORT_5557_TCP``..."""


def unknown_variable_warnings(environ: Mapping[str, str] | None = None) -> list[str]:
    """Warnings for ``LOCUST_SCENARIO_*`` / ``LOCUST_PROMETHEUS_*`` variables no option knows.

    Typos are the commonest bad input; each warning names the closest known variable. Near misses of
    the prefixes (``LOCUST_SENARIO``) are caught too. Service-link variables are not typos: charts that
    keep service links on (deliveryhero/locust) get them for Services named ``locust-scenarios...``.
    """
    environ = os.environ if environ is None else environ
    known = [env_name(option.group, option.field) for option in OPTIONS]
    warnings = []
    for name in sorted(environ):
        if name in known or not _looks_like_ours(name):
            continue
        if _SERVICE_LINK.fullmatch(name):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        suggestion = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(known)}"
        warnings.append(f"unknown variable {name} is ignored{suggestion}")
    return warnings


def _looks_like_ours(name: str) -> bool:
    """Our prefixes, or a near miss of one of them (``LOCUST_SENARIO``, ``LOCUST_PROMETEUS_LINGER``)."""
    if name.startswith(("LOCUST_SCENARIO", "LOCUST_PROMETHEUS_")):
        return True
    parts = name.split("_")
    if len(parts) < 2 or parts[0] != "LOCUST":
        return False
    return bool(difflib.get_close_matches(parts[1], ["SCENARIO", "PROMETHEUS"], n=1, cutoff=0.75))


def install_hint(extra: str) -> str:
    """How to add an optional extra, from PyPI or from a checkout or a built wheel of this project."""
    return (
        f"pip install 'locust-scenarios[{extra}]' (from a checkout: pip install '.[{extra}]'; "
        f"from a built wheel: pip install 'dist/locust_scenarios-VERSION-py3-none-any.whl[{extra}]')"
    )


def suggest(value: str, names: Sequence[str]) -> str:
    """``"; did you mean X?"`` for the closest of ``names``, or nothing."""
    close = difflib.get_close_matches(value, list(names), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""
