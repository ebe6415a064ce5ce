"""The Prometheus exporter: Locust's own statistics, read when scraped, no per-request work.

``collector`` builds the metrics, ``exposition`` writes the text format, ``labels`` keeps label values
bounded, ``buckets`` holds the latency histogram's bounds, ``quantiles`` computes Locust's exact
quantiles, ``slicing`` keeps a scrape from holding the event loop, and ``serving`` serves or pushes
the result.
"""

__all__: list[str] = []
