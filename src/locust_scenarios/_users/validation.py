"""What the user templates will read, checked before any user spawns (``SettingsError``, exit 2).

The target's URL, the open model's need for pacing user classes, the think time of every
``RestUser`` and the endpoints of every ``EndpointsUser``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from locust import FastHttpUser, HttpUser, User
from locust.env import Environment

from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import LOCUST_HOST, Setting

from .pacing import paces_open_model, settings_think_time
from .templates import EndpointsUser, RestUser, no_endpoints, validate_class

if TYPE_CHECKING:
    from locust_scenarios._settings.models import ScenarioSettings

__all__ = ["check_host", "check_user_classes", "validate_user_settings"]


def validate_user_settings(environment: Environment, settings: ScenarioSettings | None = None) -> None:
    """Check what the user templates will read, before any user spawns.

    Meant for the ``init`` event: the think time of every ``RestUser`` and the endpoints of every
    ``EndpointsUser`` among ``environment.user_classes``. ``settings`` checks other values than the
    run's (a web UI form before its run starts). Raises ``SettingsError`` (one line).
    """
    if settings is not None:
        for user_class in environment.user_classes:
            if issubclass(user_class, RestUser):
                settings_think_time(settings)
            if issubclass(user_class, EndpointsUser) and settings.endpoints:
                from .flowfile import load_configured  # noqa: PLC0415  (pydantic, at init)

                load_configured(settings.endpoints)
            elif issubclass(user_class, EndpointsUser) and user_class.require_endpoints and not user_class.endpoints:
                raise no_endpoints()
        return
    for user_class in environment.user_classes:
        validate_class(environment, user_class)


def check_user_classes(user_classes: Sequence[type[User]], settings: ScenarioSettings) -> None:
    """The open model (``rate``) needs user classes that pace their iterations by the planned rate.

    A class with its own ``wait_time`` (or Locust's default of none) would loop as fast as it can and
    the planned rate would silently not apply. Raises ``SettingsError`` naming those classes.
    """
    if settings.rate is None:
        return
    unpaced = sorted(cls.__name__ for cls in user_classes if not paces_open_model(cls))
    if unpaced:
        raise SettingsError.invalid(
            "rate",
            settings.rate,
            f"the open model paces iterations, and {', '.join(unpaced)} cannot (its wait_time does not "
            "follow the planned rate); subclass RestUser or EndpointsUser, or set wait_time = open_model_pacing()",
        )


def check_host(environment: Environment, host: str | None) -> None:
    """The target must be a URL with a scheme, given by -H/LOCUST_HOST or by each HTTP user class.

    Raises ``SettingsError``: without a host every request would fail (or Locust would stop with a
    traceback), and ``localhost:8000`` without ``http://`` fails each request with a resolver error.
    """
    http_users = [cls for cls in environment.user_classes if issubclass(cls, HttpUser | FastHttpUser)]
    if host:
        _check_url(host, LOCUST_HOST)
        return
    missing = sorted(cls.__name__ for cls in http_users if not cls.host)
    if missing:
        raise SettingsError.invalid(
            LOCUST_HOST,
            None,
            f"not given, and {', '.join(missing)} has no host attribute; "
            "give the target's URL, e.g. -H http://127.0.0.1:8000",
        )
    for cls in http_users:
        _check_url(str(cls.host), Setting(f"{cls.__name__}.host", "class attribute"))


def _check_url(url: str, named: Setting) -> None:
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError.invalid(
            named, url, "must be a URL starting with http:// or https://, e.g. http://127.0.0.1:8000"
        )
