"""Run records: one versioned JSON document per run, and everything derived from records.

``record`` builds, writes and reads records; ``validation`` checks a record before anything reads it;
``report`` renders records (HTML, Markdown, JUnit XML) with the HTML parts of ``page``; ``compare``
judges one record against a baseline (host only).
"""

__all__: list[str] = []
