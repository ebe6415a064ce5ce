"""Files the commands write: whole or not at all, and a one-line refusal when the place is unusable.

A file is written beside its target and moved over it, so a reader never sees half a report and a
failed write leaves nothing behind. An existing file at the path is replaced: the commands' outputs are
derived files, made again on demand. A path that cannot be written (no such folder, no permission, a
name too long, a folder in the way) is a ``SettingsError`` naming the option and the reason: exit 2.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from locust_scenarios import _files as files
from locust_scenarios._settings.errors import SettingsError
from locust_scenarios._settings.options import shown

__all__ = ["unwritable", "write_output", "write_text"]


def unwritable(option: str, path: Path | str, error: OSError) -> SettingsError:
    """The one-line refusal of an output path that the system refused."""
    reason = error.strerror or str(error)
    return SettingsError(f"{option} {shown(str(path))}: cannot write there ({reason})")


def write_text(path: Path, text: str | bytes, *, option: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (``_files.write_text``), creating missing folders."""
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "it is a folder")
        if isinstance(text, bytes):
            files.write_bytes(path, text)
        else:
            files.write_text(path, text)
    except OSError as error:
        raise unwritable(option, path, error) from None


def write_output(text: str, output: str | None, *, option: str = "--output") -> None:
    """Write to the file ``output`` names (saying so on stderr), or print to stdout when it is ``None``."""
    if output:
        write_text(Path(output), text, option=option)
        print(f"wrote {output}", file=sys.stderr)
    else:
        if isinstance(sys.stdout, io.TextIOWrapper):
            sys.stdout.reconfigure(errors="replace")  # whatever the terminal's encoding cannot show
        sys.stdout.write(text)
