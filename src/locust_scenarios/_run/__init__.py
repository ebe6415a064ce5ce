"""One run of a Locust process: its owner (``state``), how it starts, is observed, is signalled and ends.

``state.Run`` owns everything a run reads and decides (profile, settings, clock, workers,
observations, outcome); ``decision.decide`` turns the facts at quitting into the exit code and the
verdict; the other modules do one job each for the event wiring in ``locust_scenarios._plugin``.
"""
