"""Check outbox rows against the catalogue's ``data`` schemas (the JSON-schema subset it uses).

Used after real flows (identity merges, alert actions, …) so a schema that drifts from what its
producer writes fails a test. No jsonschema dependency: the catalogue uses only type, enum,
format uuid, properties, required, items, additionalProperties, minimum and maximum.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rmmbridge.events import catalogue
from rmmbridge.storage.models import EventOutbox

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def errors(value: Any, schema: dict[str, Any], at: str = "data") -> list[str]:
    out: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        ok = any(
            isinstance(value, _TYPES[k]) and not (k in ("integer", "number") and isinstance(value, bool)) for k in kinds
        )
        if not ok:
            return [f"{at}: {value!r} is not {'/'.join(kinds)}"]
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{at}: {value!r} not in {schema['enum']}")
    if schema.get("format") == "uuid" and isinstance(value, str):
        try:
            uuid.UUID(value)
        except ValueError:
            out.append(f"{at}: {value!r} is not a uuid")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{at}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{at}: {value} > {schema['maximum']}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += errors(item, schema["items"], f"{at}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        out += [f"{at}: {name!r} missing" for name in schema.get("required", []) if name not in value]
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in props:
                out += errors(item, props[name], f"{at}.{name}")
            elif extra is False:
                out.append(f"{at}: {name!r} not in the schema")
            elif isinstance(extra, dict):
                out += errors(item, extra, f"{at}.{name}")
    return out


def undocumented_fields(value: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Top-level fields a producer writes that the catalogue does not name (it allows them, but a
    receiver reading docs/events.md would not know them)."""
    return sorted(set(value) - set(schema.get("properties", {})))


async def check_outbox(db: AsyncSession, tenant_id: uuid.UUID) -> dict[str, int]:
    """Every event of the tenant is a catalogue type and its payload matches that type's schema,
    with no field the catalogue does not name. Returns how many events of each type were checked."""
    rows = (
        await db.execute(select(EventOutbox.event_type, EventOutbox.payload).where(EventOutbox.tenant_id == tenant_id))
    ).all()
    problems: list[str] = []
    seen: dict[str, int] = {}
    for event_type, payload in rows:
        seen[event_type] = seen.get(event_type, 0) + 1
        schema = catalogue.DATA_SCHEMAS.get(event_type)
        if schema is None:
            problems.append(f"{event_type}: not in the catalogue")
            continue
        problems += [f"{event_type}: {e}" for e in errors(payload, schema)]
        problems += [f"{event_type}: field {f!r} not in the catalogue" for f in undocumented_fields(payload, schema)]
    assert not problems, "\n".join(sorted(set(problems)))
    return seen
