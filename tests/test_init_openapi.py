"""``locust-scenarios init --openapi``: an OpenAPI 3 document becomes an endpoints file that runs."""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from locust_scenarios._cli.main import main
from locust_scenarios._users.flowfile import JourneyPlan, load_configured

from .conftest import base_url
from .test_journeys import Journey
from .test_users import errors, options, run

SPEC = """
openapi: 3.0.3
info: {title: pets, version: "1"}
servers: [{url: "http://127.0.0.1:8080"}]
paths:
  /pets:
    get:
      operationId: listPets
      parameters:
        - {name: limit, in: query, required: true, schema: {type: integer, example: 5}}
        - {name: cursor, in: query, schema: {type: string}}
      responses: {"200": {description: ok}}
    post:
      operationId: createPet
      requestBody:
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Pet"}
      responses: {"201": {description: created}, "400": {description: bad}}
  /pets/{petId}:
    parameters:
      - {name: petId, in: path, required: true, schema: {type: integer}, example: 7}
    get:
      operationId: showPet
      responses: {"200": {description: ok}, default: {description: error}}
components:
  schemas:
    Pet:
      type: object
      properties:
        name: {type: string, example: rex}
        age: {type: integer}
        tags: {type: array, items: {type: string}}
        nickname: {type: string, nullable: true, default: null}
"""


def test_openapi_document_becomes_endpoints_that_run(httpserver: HTTPServer, tmp_path: Path) -> None:
    """Each operation is a flow; path and required query parameters come from the data file stub; it runs."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC))
    output = tmp_path / "endpoints.toml"
    assert main(["init", "--openapi", str(spec), "--output", str(output)]) == 0
    document = tomllib.loads(output.read_text())
    steps = {flow["name"]: flow["steps"][0] for flow in document["flows"]}
    assert steps["listPets"] == {
        "method": "GET",
        "path": "/pets",
        "query": {"limit": "{{ params.limit }}"},
        "status": 200,
    }
    assert steps["createPet"]["json"] == {"name": "rex", "age": 1, "tags": ["example"]}
    assert steps["createPet"]["status"] == 201
    assert steps["showPet"]["path"] == "/pets/{{ params.petId }}"
    assert (tmp_path / "endpoints-params.csv").read_text() == "limit,petId\n5,7\n"
    assert isinstance(load_configured(str(output)), JourneyPlan)

    httpserver.expect_request("/pets", method="GET", query_string="limit=5").respond_with_json([])
    httpserver.expect_request("/pets", method="POST").respond_with_json({"id": 1}, status=201)
    httpserver.expect_request("/pets/7").respond_with_json({"id": 7})
    environment = run(
        [Journey], base_url(httpserver), users=3, parsed_options=options("--scenario-endpoints", str(output)),
        until_requests=12,
    )  # fmt: skip
    assert errors(environment) == {}
    assert {name for name, _ in environment.stats.entries} == {"/pets", "/pets/{petId}"}


def test_init_refuses_what_it_cannot_read_and_keeps_existing_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not OpenAPI 3, a missing file and an existing output are each one line and exit 2."""
    swagger = tmp_path / "swagger.json"
    swagger.write_text('{"swagger": "2.0", "paths": {}}')
    assert main(["init", "--openapi", str(swagger), "-o", str(tmp_path / "e.toml")]) == 2
    assert "is not an OpenAPI 3 document" in capsys.readouterr().err
    assert main(["init", "--openapi", str(tmp_path / "nothing.yaml"), "-o", str(tmp_path / "e.toml")]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "e.toml").write_text("mine")
    assert main(["init", "--openapi", str(swagger), "-o", str(tmp_path / "e.toml")]) == 2
    assert "exists; give --force" in capsys.readouterr().err
    assert (tmp_path / "e.toml").read_text() == "mine"
