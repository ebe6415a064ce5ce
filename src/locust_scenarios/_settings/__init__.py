"""Settings: the option table, the pydantic models that validate it, and the secrets it carries.

``options`` names every setting (option, variable, help, units) without pydantic, ``errors`` holds the
error types, ``models`` validates the merged values, ``context`` gives a run's validated settings to
the user templates, ``redaction`` keeps secret values out of logs. This is the start of the one-way
data flow: nothing here imports the rest of the package.
"""

__all__: list[str] = []
