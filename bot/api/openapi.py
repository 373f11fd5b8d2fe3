"""The OpenAPI 3.1 document, built from the same pydantic models the handlers use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot.api import models

REF = "#/components/schemas/{model}"
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    scope: str
    answer: type[BaseModel]
    status: int = 200
    body: type[BaseModel] | None = None
    parameters: list[dict[str, Any]] = field(default_factory=list)
    errors: tuple[int, ...] = (401, 403)


def _param(name: str, where: str = "path", **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": {"type": "string", "maxLength": 200, **schema},
    }


ACTION_ID = _param("action_id", minLength=1)
RUN_ID = _param("run_id", minLength=1)

OPERATIONS = [
    Operation("get", "/api/v1/actions", "listActions", "Actions you can see",
              "actions:read", models.ActionList),
    Operation("get", "/api/v1/actions/{action_id}", "getAction",
              "An action, with the JSON Schema of its inputs", "actions:read",
              models.ActionDetail, parameters=[ACTION_ID], errors=(401, 403, 404)),
    Operation("get", "/api/v1/actions/{action_id}/inputs/{identifier}/options", "inputOptions",
              "Options of an input (dynamic ones included)", "actions:read", models.OptionList,
              parameters=[ACTION_ID, _param("identifier", minLength=1), _param("q", "query"),
                          _param("service", "query")],
              errors=(401, 403, 404, 502)),
    Operation("post", "/api/v1/actions/{action_id}/runs", "startRun",
              "Start a run (PENDING, or PENDING_APPROVAL)", "runs:write", models.RunOut,
              status=202, body=models.RunRequest,
              parameters=[ACTION_ID, _param("Idempotency-Key", "header", minLength=1)],
              errors=(400, 401, 403, 404, 409, 413, 422, 429)),
    Operation("get", "/api/v1/runs", "listRuns", "Your runs, newest first (keyset pages)",
              "runs:read", models.RunPage,
              parameters=[_param("action", "query"), _param("status", "query"),
                          _param("since", "query", format="date-time"),
                          _param("cursor", "query"),
                          {"name": "limit", "in": "query", "required": False,
                           "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
              errors=(401, 403, 422)),
    Operation("get", "/api/v1/runs/{run_id}", "getRun",
              "A run: status, inputs, approvals, attempts, result", "runs:read", models.RunOut,
              parameters=[RUN_ID], errors=(401, 403, 404)),
    Operation("post", "/api/v1/runs/{run_id}/cancel", "cancelRun",
              "Cancel a queued run, or withdraw one waiting for approval", "runs:write",
              models.RunOut, parameters=[RUN_ID], errors=(401, 403, 404, 409)),
]  # fmt: skip


def _operation(op: Operation) -> dict[str, Any]:
    def ref(model: type[BaseModel]) -> dict[str, Any]:
        return {"$ref": REF.format(model=model.__name__)}

    problem = {"content": {PROBLEM: {"schema": ref(models.Problem)}}}
    responses: dict[str, Any] = {
        str(op.status): {
            "description": op.summary,
            "content": {"application/json": {"schema": ref(op.answer)}},
        }
    }
    if op.status == 202:  # an Idempotency-Key replay answers 200 with the same run
        responses["200"] = {**responses["202"], "description": "The run this key started"}
    for status in op.errors:
        responses[str(status)] = {"description": f"HTTP {status}", **problem}
    found: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "security": [{"token": [op.scope]}],
        "parameters": op.parameters,
        "responses": responses,
    }
    if op.body is not None:
        found["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(op.body)}},
        }
    return found


def document(server_url: str = "") -> dict[str, Any]:
    wanted: set[type[BaseModel]] = {models.Problem, models.RunRequest}
    wanted |= {op.answer for op in OPERATIONS}
    keyed: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (m, "serialization") for m in sorted(wanted, key=lambda m: m.__name__)
    ]
    keyed.append((models.RunRequest, "validation"))
    _, schemas = models_json_schema(keyed, ref_template=REF)
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Actions API",
            "version": "1",
            "description": "Run self-service actions under the same rules as in Slack.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal token (act_…) from `/actions token`",
                }
            },
        },
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc
