"""The host side: the ``locust-scenarios`` command and what only it runs.

One module per subcommand (``preview``, ``demo``, ``target``, ``records``, ``wait``, ``fetch``, the
``bundle`` package), each registering itself with ``add_parser``; ``main`` imports them and maps their
errors to exit codes. ``kubectl`` is the one wrapper of kubectl and ``masters`` the one master selector
(both engines) that ``wait`` and ``fetch`` share. No pod imports this package: the bundle leaves it out.
"""

__all__: list[str] = []
