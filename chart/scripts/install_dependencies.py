"""Install the pinned dependencies into the shared volume, or say plainly why that failed.

The init container runs this with the image's own Python and the pip arguments that follow from the
chart's values (target, index or wheelhouse, the pinned list); the fixed ones are this script's own.
It streams pip's output, returns pip's exit code, and when pip failed because the package index (or
the proxy in front of it) could not be reached, its last line names the index (without credentials)
and the chart values that give the pods a way to their dependencies. Standard library only: nothing
else is installed yet.
"""

import os
import re
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit, urlunsplit

FIXED_ARGS = [
    "--no-deps",
    "--upgrade",
    "--no-cache-dir",
    "--disable-pip-version-check",
    "--no-input",
    "--only-binary=:all:",
]
"""Every install: no dependency resolution (the list is complete, and resolving would pull a second
Locust or gevent), wheels only, nothing cached or asked."""
DEFAULT_INDEX = "https://pypi.org/simple"
UNREACHABLE = re.compile(
    r"NewConnectionError|ConnectTimeout|ConnectTimeoutError|ProxyError|Max retries exceeded|"
    r"Connection refused|Network is unreachable|No route to host|Name or service not known|"
    r"Temporary failure in name resolution|SSLError|CERTIFICATE_VERIFY_FAILED|Read timed out"
)
ADVICE = (
    "give the pods a route (dependencies.proxy), an index they can reach (dependencies.indexUrl or "
    "dependencies.indexUrlSecret; dependencies.caBundle for a private CA), or install without an index "
    "(dependencies.wheelhouse, or an image with the dependencies and dependencies.install=false)"
)


def index_url(args):
    """The index pip was told to use: --index-url, else PIP_INDEX_URL, else PyPI."""
    for position, arg in enumerate(args):
        if arg in ("--index-url", "-i") and position + 1 < len(args):
            return args[position + 1]
        if arg.startswith("--index-url="):
            return arg.split("=", 1)[1]
    return os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX


def without_credentials(url):
    """The URL with any user:password@ removed, safe for a log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def connection_problem(url):
    """Why the index cannot be reached (None when it answers, even with an HTTP error such as 401).

    pip says little when it gives up without retries, so the installer asks once more itself, the way
    pip would go: through the proxy variables, trusting PIP_CERT when it is set.
    """
    context = ssl.create_default_context(cafile=os.environ.get("PIP_CERT") or None)
    try:
        with urllib.request.urlopen(without_credentials(url), timeout=15, context=context):
            return None
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError, ValueError) as error:
        return str(getattr(error, "reason", error))


def explain(args, output):
    """The closing line for a failed install, or None when the index is not the problem."""
    if "--no-index" in args:
        return (
            "install-dependencies: a pinned wheel is missing from the wheelhouse (dependencies.wheelhouse, "
            "no index is used): add it with pip download --only-binary=:all: --no-deps -r requirements.txt"
        )
    index = index_url(args)
    problem = connection_problem(index)
    if problem is None and not UNREACHABLE.search(output):
        return None
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("HTTP_PROXY")
    via = f" through the proxy {without_credentials(proxy)}" if proxy else ""
    return (
        f"install-dependencies: cannot reach the package index {without_credentials(index)}{via}"
        f" ({problem or 'connection failed'}); the Locust pods need pydantic and the other pinned packages "
        f"from it: {ADVICE}"
    )


def main(args):
    command = [sys.executable, "-m", "pip", "install", *FIXED_ARGS, *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in process.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    code = process.wait()
    if code != 0:
        message = explain(args, "".join(lines[-200:]))
        if message:
            sys.stdout.write(message + "\n")
            sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
