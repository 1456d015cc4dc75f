"""OpenAPI helpers: the problem+json error schema, documented on every route."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing or invalid credentials",
    403: "The caller's role lacks the permission",
    404: "Not found (or belongs to another tenant)",
    409: "Conflict with the current state",
    413: "Body too large",
    422: "Invalid input; `errors` names the fields",
    429: "Rate limited",
}


class FieldError(BaseModel):
    field: str
    message: str | None = None
    type: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {
            "model": Problem,
            "description": _DESCRIPTIONS.get(code, "Error"),
            "content": {"application/problem+json": {}},
        }
        for code in codes
    }


def install_openapi(app: Any) -> None:
    """Post-process the generated document: problem+json for every error, bearer security.

    FastAPI documents request-validation errors as its own JSON shape; rmmbridge answers them (and
    every other error) as RFC 9457 problem+json, so the document says exactly that.
    """
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema  # type: ignore[no-any-return]
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
            description="Bearer-token REST API. Errors are RFC 9457 `application/problem+json`.",
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(Problem.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {}))
        schemas["Problem"].pop("$defs", None)
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        components["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "API token from `rmmbridge token create`"}
        }
        schema["security"] = [{"bearer": []}]
        problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                responses.setdefault("401", {"description": _DESCRIPTIONS[401]})
                if (
                    any(p.get("in") in ("query", "path") for p in operation.get("parameters", []))
                    or "requestBody" in operation
                ):
                    responses.setdefault("422", {"description": _DESCRIPTIONS[422]})
                for code, response in responses.items():
                    if code.startswith("4") or code.startswith("5"):
                        response["content"] = problem
                        response.setdefault("description", _DESCRIPTIONS.get(int(code), "Error"))
        _keys_as_property_names(schema)
        from rmmbridge.events.catalogue import openapi_webhooks

        schema["webhooks"] = openapi_webhooks()  # the event catalogue: what rmmbridge sends out
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


def _keys_as_property_names(node: Any) -> None:
    """Pydantic writes a constrained dict key (``dict[InputText, …]``) as ``patternProperties``,
    which leaves keys that do *not* match unconstrained; the server refuses those keys, so say
    so: ``propertyNames`` constrains every key, ``additionalProperties`` carries the values."""
    if isinstance(node, dict):
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1 and "additionalProperties" not in node:
            ((pattern, values),) = patterns.items()
            del node["patternProperties"]
            node["propertyNames"] = {"pattern": pattern}
            node["additionalProperties"] = values
        for child in node.values():
            _keys_as_property_names(child)
    elif isinstance(node, list):
        for child in node:
            _keys_as_property_names(child)
