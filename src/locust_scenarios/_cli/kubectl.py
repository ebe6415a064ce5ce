"""kubectl: the one way the host-side commands (``wait``, ``fetch``) talk to a cluster.

Every call has a time limit and ends in one of three ways: kubectl's output, or a one-line
``ToolError`` that names what was being done and kubectl's own last line (never its whole stderr).
``ApiUnavailableError`` marks the failures a retry can cure (the API server did not answer, refused
the connection, or answered 5xx); ``NotFoundError`` marks an object that is not there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any, ClassVar

from locust_scenarios._exitcodes import ExitCode

__all__ = ["ApiUnavailableError", "Kubectl", "NotFoundError", "ToolError", "is_transient"]

TIMEOUT_SECONDS = 60.0
"""How long one kubectl call may take before it counts as unanswered."""

_TRANSIENT = (
    "connection refused",
    "the connection to the server",
    "connection reset",
    "tls handshake timeout",
    "i/o timeout",
    "no route to host",
    "unable to connect to the server",
    "http2: client connection lost",
    "unexpected eof",
    "context deadline exceeded",
    "net/http: request canceled",
    "the server is currently unable to handle the request",
    "the server was unable to return a response",
    "etcdserver: request timed out",
    "etcdserver: leader changed",
    "(internalerror)",
    "(serviceunavailable)",
    "(timeout)",
    "(toomanyrequests)",
    "an error on the server",
)
"""kubectl's words for an API server that did not answer or answered 5xx (or 429): worth a retry.
Forbidden, Unauthorized, NotFound and bad arguments are not: retrying cannot change them."""


class ToolError(Exception):
    """An external tool (kubectl) is missing, failed or did not answer; ``str()`` is one line.

    Not invalid configuration: the command's own input was fine, the tool or the cluster was not.
    """

    exit_code: ClassVar[int] = ExitCode.TOOL_FAILED


class ApiUnavailableError(ToolError):
    """The API server did not answer, refused the connection or answered 5xx: a retry may succeed."""


class NotFoundError(ToolError):
    """The object asked for does not exist (never created, or deleted)."""


def is_transient(message: str) -> bool:
    """Whether kubectl's error text says the API server was unavailable rather than that the request was wrong."""
    lowered = message.lower()
    return any(words in lowered for words in _TRANSIENT)


def _last_line(text: str) -> str:
    """The line that says what went wrong; ``kubectl exec`` adds its own after the command's."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("command terminated with exit code")] or lines
    return lines[-1] if lines else ""


class Kubectl:
    """kubectl with a namespace and a context; output as text or as a JSON object."""

    def __init__(self, binary: str = "kubectl", namespace: str | None = None, context: str | None = None) -> None:
        found = shutil.which(binary)
        if found is None:
            raise ToolError(f"kubectl not found ({binary!r}, --kubectl): install kubectl or give its path")
        self.binary = found
        self.namespace = namespace
        self.scope = [*(["--namespace", namespace] if namespace else []), *(["--context", context] if context else [])]

    def text(self, *args: str, what: str, timeout: float = TIMEOUT_SECONDS, stdin: str | None = None) -> str:
        """stdout of ``kubectl <args>``; a failure raises a one-line ``ToolError`` saying what failed."""
        command = " ".join(args[:2])
        try:
            done = subprocess.run(
                [self.binary, *self.scope, *args],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ApiUnavailableError(
                f"could not {what}: kubectl {command} did not answer within {timeout:g} s"
            ) from None
        except OSError as error:
            raise ToolError(f"could not {what}: cannot run {self.binary} ({error.strerror or error})") from None
        if done.returncode != 0:
            detail = _last_line(done.stderr) or f"kubectl {command} exited with code {done.returncode}"
            if "(NotFound)" in detail or detail.lower().startswith("error: not found"):
                raise NotFoundError(f"could not {what}: {detail}")
            kind = ApiUnavailableError if is_transient(detail) else ToolError
            raise kind(f"could not {what}: {detail}")
        return done.stdout

    def json(self, *args: str, what: str, timeout: float = TIMEOUT_SECONDS) -> dict[str, Any]:
        """``kubectl <args> -o json`` as an object; anything else it prints is a one-line ``ToolError``."""
        text = self.text(*args, "-o", "json", what=what, timeout=timeout)
        try:
            found = json.loads(text)
        except ValueError:
            shown = _last_line(text)[:80] or "nothing"
            raise ToolError(f"could not {what}: kubectl printed {shown!r}, not JSON") from None
        if not isinstance(found, dict):
            raise ToolError(f"could not {what}: kubectl printed JSON that is not an object")
        return found

    def raw(self, path: str, *, what: str, timeout: float = TIMEOUT_SECONDS) -> str:
        """``kubectl get --raw PATH``: an API path read through the API server (e.g. a service proxy)."""
        return self.text("get", "--raw", path, what=what, timeout=timeout)
