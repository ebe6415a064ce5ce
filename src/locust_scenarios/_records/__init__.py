"""Run records: one versioned JSON document per run, and everything derived from records.

``record`` builds, writes and reads records; ``report`` renders them (HTML, Markdown, JUnit XML);
``compare`` judges one record against a baseline (host only).
"""

__all__: list[str] = []
