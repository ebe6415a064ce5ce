"""Thresholds: k6-style pass/fail criteria over Locust's own statistics, and the verdict they give.

``grammar`` parses expressions into criteria, ``measure`` reads the requests a criterion is judged on,
``judging`` judges them (the verdict, the abort, the breakpoint's stop condition) and ``timeline``
judges them by stage and by window. Nothing here touches Locust's events.
"""

__all__: list[str] = []
