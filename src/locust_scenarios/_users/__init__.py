"""User templates and what they read: calls with checks, endpoint files, wait times and pacing.

``templates`` holds ``RestUser`` and ``EndpointsUser``, ``calls`` one request and its checks,
``endpoints`` the config-driven user's endpoint files, ``pacing`` the wait times, ``url`` path
templates, and ``validation`` what is checked before any user spawns.
"""

__all__: list[str] = []
