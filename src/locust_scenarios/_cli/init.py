"""``locust-scenarios init --openapi SPEC``: a starting endpoints file from an OpenAPI 3 document.

Each operation becomes a one-step flow: its method, its path with each path parameter as a template
variable of a data file stub (``params.csv``, one row of example values), its required query
parameters, an example JSON body (the operation's example, else one built from the schema), and its
lowest 2xx status as the expected one. The file written is loaded back with the journeys check
before the command reports success, so it runs as it is; the values are examples to edit.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import re
import sys
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from locust_scenarios._exitcodes import ExitCode
from locust_scenarios._settings.errors import SettingsError

__all__ = ["add_parser", "endpoints_from_openapi", "toml_document"]

_METHODS = ("get", "post", "put", "patch", "delete")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_PARAMETER = re.compile(r"\{([^{}]+)\}")
_MAX_DEPTH = 6


class _SpecError(ValueError):
    """The document is not an OpenAPI 3 document this command can read."""


# -- reading the document ---------------------------------------------------------------------------


def _read_spec(path: Path) -> Mapping[str, Any]:
    from locust_scenarios._users.endpoints import _parse  # noqa: PLC0415  (pydantic; PyYAML on demand)

    if not path.is_file():
        raise _SpecError(f"no such file {str(path)!r}")
    kind = "YAML" if path.suffix.lower() in (".yaml", ".yml") else "JSON"
    document = _parse(path.read_text(encoding="utf-8"), kind, path.name)
    if not isinstance(document, Mapping) or not str(document.get("openapi", "")).startswith("3."):
        raise _SpecError(f"{path.name} is not an OpenAPI 3 document (no 'openapi: 3.x' at its top)")
    if not isinstance(document.get("paths"), Mapping) or not document["paths"]:
        raise _SpecError(f"{path.name} has no paths")
    return document


def _resolve(document: Mapping[str, Any], node: Any, depth: int = 0) -> Any:
    """``node`` with a local ``$ref`` (``#/components/...``) followed; other references stay as they are."""
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and depth < _MAX_DEPTH:
        reference = node["$ref"]
        if not reference.startswith("#/"):
            return {}
        target: Any = document
        for part in reference[2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, Mapping) else {}
        node, depth = target, depth + 1
    return node


def _example(document: Mapping[str, Any], schema: Any, depth: int = 0) -> Any:
    """An example value for ``schema``: its example, default or first enum value, else one by type."""
    schema = _resolve(document, schema)
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return "example"
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    return _composite(document, schema, depth)


def _composite(document: Mapping[str, Any], schema: Mapping[str, Any], depth: int) -> Any:
    """An example for a schema without its own: from allOf/oneOf/anyOf, properties, items or the type."""
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = _example(document, part, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return _example(document, schema[key][0], depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        return {name: _example(document, value, depth + 1) for name, value in properties.items()}
    if kind == "array":
        return [_example(document, schema.get("items", {}), depth + 1)]
    return {"integer": 1, "number": 1.5, "boolean": True}.get(str(kind), "example")


def _column(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _status(responses: Any) -> int:
    codes = sorted(int(code) for code in (responses or {}) if str(code).isdigit() and 200 <= int(code) < 300)
    return codes[0] if codes else 200


def _body(document: Mapping[str, Any], operation: Mapping[str, Any]) -> Any:
    request_body = _resolve(document, operation.get("requestBody"))
    if not isinstance(request_body, Mapping):
        return None
    content = request_body.get("content") or {}
    media = next((value for key, value in content.items() if "json" in str(key)), None)
    if not isinstance(media, Mapping):
        return None
    if "example" in media:
        return media["example"]
    examples = media.get("examples")
    if isinstance(examples, Mapping) and examples:
        first = _resolve(document, next(iter(examples.values())))
        if isinstance(first, Mapping) and "value" in first:
            return first["value"]
    return _example(document, media.get("schema", {}))


def _variable(document: Mapping[str, Any], parameter: Mapping[str, Any], columns: dict[str, Any]) -> str:
    """``{{ params.NAME }}`` for a parameter, its example value recorded for the data file stub."""
    column = _column(str(parameter.get("name")))
    if column not in columns:
        columns[column] = parameter.get("example", _example(document, parameter.get("schema", {})))
    return f"{{{{ params.{column} }}}}"


def _path_variable(
    document: Mapping[str, Any], parameters: Mapping[Any, Any], columns: dict[str, Any], found: re.Match[str]
) -> str:
    return _variable(document, parameters.get(("path", found[1]), {"name": found[1]}), columns)


def endpoints_from_openapi(document: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The flows (one step each) of every operation, and the example value of each parameter column."""
    flows: list[dict[str, Any]] = []
    columns: dict[str, Any] = {}
    names: set[str] = set()
    for path, item in document["paths"].items():
        if not isinstance(item, Mapping):
            continue
        shared = [_resolve(document, p) for p in item.get("parameters") or []]
        for method in _METHODS:
            operation = item.get(method)
            if not isinstance(operation, Mapping):
                continue
            parameters = {(p.get("in"), p.get("name")): p for p in shared if isinstance(p, Mapping)}
            for declared in operation.get("parameters") or []:
                own = _resolve(document, declared)
                if isinstance(own, Mapping):
                    parameters[(own.get("in"), own.get("name"))] = own
            step: dict[str, Any] = {"method": method.upper()}
            step["path"] = _PARAMETER.sub(
                partial(_path_variable, document, parameters, columns),
                str(path),
            )
            query = {
                str(p["name"]): _variable(document, p, columns)
                for (where, _), p in parameters.items()
                if where == "query" and p.get("required") and p.get("name")
            }
            if query:
                step["query"] = query
            body = _body(document, operation)
            if body is not None:
                step["json"] = body
            step["status"] = _status(operation.get("responses"))
            if step["path"] != path:
                step["name"] = str(path)
            name = str(operation.get("operationId") or f"{method.upper()} {path}")
            while name in names:
                name += "'"
            names.add(name)
            flows.append({"name": name, "steps": [step]})
    if not flows:
        raise _SpecError("the document has no operations (get, post, put, patch or delete)")
    return flows, columns


# -- writing TOML -----------------------------------------------------------------------------------


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)


def _value(value: Any) -> str:
    """A TOML value on one line (JSON string escapes are TOML's); ``null`` has no TOML form and is left out."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else json.dumps(str(value))
    if isinstance(value, Mapping):
        items = [f"{_key(str(k))} = {_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value if v is not None) + "]"
    return json.dumps(str(value))


def toml_document(flows: list[dict[str, Any]], data_file: str | None, server: str | None) -> str:
    """The endpoints file: a comment, the data file stub's table, and a ``[[flows]]`` table per operation."""
    lines = ["# Written by locust-scenarios init --openapi: edit the example values (see docs/users.md)."]
    if server:
        lines.append(f"# The spec's first server: run with -H {server}")
    if data_file:
        lines += ["", "[[data]]", 'name = "params"', f"file = {json.dumps(data_file)}", 'mode = "sequential"']
    for flow in flows:
        lines += ["", "[[flows]]", f"name = {json.dumps(flow['name'])}"]
        for step in flow["steps"]:
            lines += ["", "[[flows.steps]]"]
            lines += [f"{_key(key)} = {_value(value)}" for key, value in step.items()]
    return "\n".join(lines) + "\n"


def _csv(columns: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerow(json.dumps(v) if isinstance(v, dict | list) else str(v).lower() if isinstance(v, bool) else v
                    for v in columns.values())  # fmt: skip
    return out.getvalue()


def _run(namespace: argparse.Namespace) -> int:
    from locust_scenarios._users.flowfile import load_configured  # noqa: PLC0415  (pydantic, on demand)

    output: Path = namespace.output
    data_path = output.with_name(f"{output.stem}-params.csv")
    for path in (output, data_path):
        if path.exists() and not namespace.force:
            print(f"locust-scenarios init: {path} exists; give --force to replace it", file=sys.stderr)
            return ExitCode.INVALID_CONFIG
    try:
        document = _read_spec(namespace.openapi)
        flows, columns = endpoints_from_openapi(document)
    except ValueError as error:
        print(f"locust-scenarios init: {' '.join(str(error).split())}", file=sys.stderr)
        return ExitCode.INVALID_CONFIG
    servers = document.get("servers") or []
    server = servers[0].get("url") if servers and isinstance(servers[0], Mapping) else None
    if columns:
        data_path.write_text(_csv(columns), encoding="utf-8")
    output.write_text(toml_document(flows, data_path.name if columns else None, server), encoding="utf-8")
    try:
        load_configured(str(output))  # what it wrote passes the check a run makes
    except SettingsError as error:
        print(f"locust-scenarios init: the file written does not pass the check: {error}", file=sys.stderr)
        return ExitCode.INVALID_CONFIG
    written = f"{output} ({len(flows)} operations)" + (f" and {data_path}" if columns else "")
    print(f"wrote {written}; run: LOCUST_SCENARIO_ENDPOINTS={output} locust-scenarios run -H URL")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``init`` on the ``locust-scenarios`` command's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "init",
        help="write a starting endpoints file from an OpenAPI 3 document",
        description="Write an endpoints file (one flow per operation) and a data file stub of its path and "
        "query parameters from an OpenAPI 3 document (JSON, or YAML with the yaml extra).",
    )
    parser.add_argument("--openapi", type=Path, required=True, metavar="SPEC", help="the OpenAPI 3 document")
    parser.add_argument(
        "--output", "-o", type=Path, default=Path("endpoints.toml"), help="file to write (default endpoints.toml)"
    )
    parser.add_argument("--force", action="store_true", help="replace files that exist")
    parser.set_defaults(func=_run)
    return parser
