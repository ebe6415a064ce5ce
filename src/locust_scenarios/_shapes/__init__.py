"""Scenario profiles: Locust load shapes built from stages, one per test type, composable.

``plan`` holds stages as a pure function of run time, ``profile`` the base class and the registry of
names, ``profiles`` the built-in test types, ``selecting`` the shape that runs the profile named by
``LOCUST_SCENARIO``.
"""

__all__: list[str] = []
