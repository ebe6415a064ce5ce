"""The host side: the ``locust-scenarios`` command and what only it runs (bundle, Kubernetes, demo).

No pod imports this package: the bundle leaves it out of the package it ships.
"""

__all__: list[str] = []
