"""The package's modules as the pods need them: code only, every line where it was (and JSON without
indentation).

Helm keeps the whole release in one Secret of at most 1 MiB, and the package rides in it twice (as a
chart file and in the rendered ConfigMap). A quarter of the package's source is docstrings and comments,
which no pod reads: the library never consults ``__doc__``, and tracebacks only need the code lines.
So the bundle blanks them out, keeping each line at its number: a traceback from a pod names the same
line as the installed package on the host, and the code shown is the same code.
"""

from __future__ import annotations

import ast
import io
import itertools
import json
import tokenize

__all__ = ["compact", "compact_module"]

_DEFINITIONS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _is_text(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _documentation(tree: ast.Module) -> set[ast.stmt]:
    """Docstrings: the text that opens a module, class or function, and the text after an assignment."""
    found: set[ast.stmt] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list) or not body:
            continue
        if isinstance(node, _DEFINITIONS) and _is_text(body[0]):
            found.add(body[0])
        for previous, statement in itertools.pairwise(body):
            if isinstance(previous, ast.Assign | ast.AnnAssign) and _is_text(statement):
                found.add(statement)
    return found


def compact_module(source: str) -> str:
    """``source`` without docstrings and comments, with the same number of lines and the same code on each.

    A docstring becomes an empty string literal spanning the same lines (a body that held only a
    docstring stays a valid body); a comment is cut from its line. Source that does not parse is
    returned unchanged.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    lines = source.encode("utf-8").splitlines(keepends=True)
    # ast offsets count UTF-8 bytes; replace from the end so earlier offsets stay valid.
    spans = sorted(
        ((d.lineno, d.col_offset, d.end_lineno or d.lineno, d.end_col_offset or 0) for d in _documentation(tree)),
        reverse=True,
    )
    for first, start, last, end in spans:
        blank = b'""' if first == last else b'"""' + b"\n" * (last - first) + b'"""'
        lines[first - 1 : last] = [lines[first - 1][:start] + blank + lines[last - 1][end:]]
    text = b"".join(lines).decode("utf-8")
    comments = {
        token.start[0]: token.start[1]
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type == tokenize.COMMENT
    }
    kept = []
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        cut = comments.get(number)
        kept.append(line if cut is None else line[:cut].rstrip() + ("\n" if line.endswith("\n") else ""))
    return "".join(kept)


def compact(text: str, suffix: str) -> str:
    """A package file as it rides in the pods: a module compacted, a JSON document without indentation."""
    if suffix == ".py":
        return compact_module(text)
    if suffix == ".json":
        return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
    return text
