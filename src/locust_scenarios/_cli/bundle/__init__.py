"""``locust-scenarios bundle``: pack the installed package and the locustfiles for the Helm chart.

``requirements`` finds the pinned distributions the Locust image lacks, ``payload`` what rides in the
ConfigMaps and the limits it must fit, ``build`` writes (or refreshes) the bundle folder, ``command``
is the subcommand. A refusal is one ``BundleError`` line (``errors``), exit code 2, and leaves the
target folder as it was.
"""

__all__: list[str] = []
