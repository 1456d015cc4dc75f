"""The event catalogue: every event type rmmbridge emits, its JSON schema, and the old names.

Producers import the type names from here (never spell them as literals), so the catalogue, the
OpenAPI ``webhooks`` section and docs/events.md describe exactly what goes out. Versioned: a
field may be added to an event within a version; renaming or removing one needs a new version.
"""

from __future__ import annotations

from typing import Any

CATALOGUE_VERSION = "2026-12-01"

ASSET_CREATED = "asset.created"
ASSET_UPDATED = "asset.updated"
ASSET_STATUS_CHANGED = "asset.status_changed"
ASSET_MISSING = "asset.missing"
ASSET_RETIRED = "asset.retired"
ASSET_REVIVED = "asset.revived"
ASSET_REKEYED = "asset.rekeyed"
ASSET_SOURCE_ATTACHED = "asset.source_attached"
ASSET_MERGE_PROPOSED = "asset.merge_proposed"
ASSET_MERGED = "asset.merged"
ASSET_UNMERGED = "asset.unmerged"
COVERAGE_CHANGED = "coverage.changed"
ALERT_TRIGGERED = "alert.triggered"
ALERT_UPDATED = "alert.updated"
ALERT_RESOLVED = "alert.resolved"
ALERT_ACKNOWLEDGED = "alert.acknowledged"
INTEGRATION_SYNC_STARTED = "integration.sync_started"
INTEGRATION_SYNC_FINISHED = "integration.sync_finished"
INTEGRATION_NEEDS_ATTENTION = "integration.needs_attention"
WEBHOOK_RECEIVED = "webhook.received"
# Sent only by "send test event"; never written to the outbox.
DELIVERY_TEST = "delivery.test"

# Old name (the seeds' constants and the pre-catalogue outbox strings) → catalogue name.
LEGACY_NAMES: dict[str, str] = {
    "RMM_DEVICE_CREATED": ASSET_CREATED,
    "RMM_DEVICE_UPDATED": ASSET_UPDATED,
    "RMM_DEVICE_STATUS_CHANGED": ASSET_STATUS_CHANGED,
    "RMM_DEVICE_RETIRED": ASSET_RETIRED,
    "RMM_ALERT_RAISED": ALERT_TRIGGERED,
    "RMM_ALERT_RESOLVED": ALERT_RESOLVED,
    "RMM_SYNC_COMPLETED": INTEGRATION_SYNC_FINISHED,
    "RMM_WEBHOOK_RECEIVED": WEBHOOK_RECEIVED,
    "rmm.device.created": ASSET_CREATED,
    "rmm.device.updated": ASSET_UPDATED,
    "asset.edited": ASSET_UPDATED,
    "rmm.device.missing": ASSET_MISSING,
    "rmm.device.retired": ASSET_RETIRED,
    "rmm.device.revived": ASSET_REVIVED,
    "rmm.device.rekeyed": ASSET_REKEYED,
    "rmm.alert.raised": ALERT_TRIGGERED,
    "rmm.alert.reopened": ALERT_TRIGGERED,
    "rmm.alert.updated": ALERT_UPDATED,
    "rmm.alert.resolved": ALERT_RESOLVED,
    "rmm.sync.started": INTEGRATION_SYNC_STARTED,
    "rmm.sync.completed": INTEGRATION_SYNC_FINISHED,
    "rmm.sync.failed": INTEGRATION_SYNC_FINISHED,
}

# Names of lifecycle/rekey actions (history actions) → event types.
ASSET_ACTION_EVENTS: dict[str, str] = {
    "missing": ASSET_MISSING,
    "retired": ASSET_RETIRED,
    "revived": ASSET_REVIVED,
    "rekeyed": ASSET_REKEYED,
}
# Alert transitions (ingestion/alerts.py) → event types; "reopened" is a new trigger.
ALERT_OUTCOME_EVENTS: dict[str, str] = {
    "created": ALERT_TRIGGERED,
    "reopened": ALERT_TRIGGERED,
    "updated": ALERT_UPDATED,
    "resolved": ALERT_RESOLVED,
}

_UUID = {"type": "string", "format": "uuid"}
_STR = {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}
_INTEGRATION = {"integration_id": _UUID}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required or [], "additionalProperties": True}


# The ``data`` of each event type (what producers put in the outbox payload).
DATA_SCHEMAS: dict[str, dict[str, Any]] = {
    ASSET_CREATED: _obj({**_INTEGRATION, "external_id": _STR, "name": _STR}, ["integration_id", "external_id"]),
    ASSET_UPDATED: _obj(
        {
            **_INTEGRATION,
            "external_id": _STR,
            "changed": {"type": "array", "items": _STR, "description": "names of the fields that changed"},
            "source": {"type": "string", "enum": ["sync", "user"]},
        },
        ["changed"],
    ),
    ASSET_STATUS_CHANGED: _obj({**_INTEGRATION, "from": _NULLABLE_STR, "to": _STR}, ["to"]),
    ASSET_MISSING: _obj(_INTEGRATION),
    ASSET_RETIRED: _obj(
        {
            **_INTEGRATION,
            "merged_into": _UUID,
            "rmm_device_id": {"type": "string", "description": "the device id it gave up (a rekey)"},
        }
    ),
    ASSET_REVIVED: _obj({**_INTEGRATION, "external_id": _STR}),
    ASSET_REKEYED: _obj({**_INTEGRATION, "rmm_device_id": {"type": "array", "items": _STR}}),
    ASSET_SOURCE_ATTACHED: _obj(
        {
            **_INTEGRATION,
            "provider": _STR,
            "external_id": _STR,
            "reason": {"type": "string", "description": "why this device is the same machine"},
        },
        ["integration_id", "provider", "external_id", "reason"],
    ),
    ASSET_MERGE_PROPOSED: _obj(
        {
            "candidate_id": _UUID,
            "asset_a": _UUID,
            "asset_b": _UUID,
            "score": {"type": "integer", "minimum": 0, "maximum": 100},
        },
        ["candidate_id", "asset_a", "asset_b", "score"],
    ),
    ASSET_MERGED: _obj(
        {"merged": {**_UUID, "description": "the asset merged into this one (now retired)"}, "name": _STR},
        ["merged"],
    ),
    ASSET_UNMERGED: _obj(
        {
            "into": {**_UUID, "description": "the asset the sources went to (restored, or new)"},
            "sources": {"type": "array", "items": _UUID, "description": "ids of the sources taken off"},
        },
        ["into", "sources"],
    ),
    COVERAGE_CHANGED: _obj(
        {
            "clients": {
                "type": "object",
                "description": "client id → its counts (only clients with gaps or duplicates)",
                "additionalProperties": _obj(
                    {
                        "gaps": {"type": "integer", "description": "sum of by_pair"},
                        "duplicates": {"type": "integer"},
                        "by_pair": {"type": "object", "additionalProperties": {"type": "integer"}},
                    },
                    ["gaps", "duplicates", "by_pair"],
                ),
            },
            "gaps": {"type": "integer", "description": "machines missing from an integration of their client"},
            "duplicates": {"type": "integer", "description": "machines with several devices in one integration"},
        },
        ["clients", "gaps", "duplicates"],
    ),
    ALERT_TRIGGERED: _obj(
        {
            **_INTEGRATION,
            "asset_id": _STR,
            "severity": {"type": "string", "enum": ["info", "warning", "error", "critical"]},
            "alert_type": _NULLABLE_STR,
            "message": _NULLABLE_STR,
            "reopened": {"type": "boolean"},
        },
        ["integration_id"],
    ),
    ALERT_UPDATED: _obj(
        {**_INTEGRATION, "asset_id": _STR, "severity": _STR, "alert_type": _NULLABLE_STR, "message": _NULLABLE_STR}
    ),
    ALERT_RESOLVED: _obj(
        {
            **_INTEGRATION,
            "asset_id": _STR,
            "severity": _STR,
            "alert_type": _NULLABLE_STR,
            "message": _NULLABLE_STR,
            "resolved_by": {"type": "string", "description": "the user who resolved it (absent: the RMM did)"},
        }
    ),
    ALERT_ACKNOWLEDGED: _obj(
        {
            **_INTEGRATION,
            "asset_id": _STR,
            "severity": _STR,
            "alert_type": _NULLABLE_STR,
            "message": _NULLABLE_STR,
            "acknowledged_by": _STR,
        },
        ["integration_id", "acknowledged_by"],
    ),
    INTEGRATION_SYNC_STARTED: _obj({**_INTEGRATION, "kind": _STR, "trigger": _STR}, ["integration_id", "kind"]),
    INTEGRATION_SYNC_FINISHED: _obj(
        {
            **_INTEGRATION,
            "kind": _STR,
            "status": {"type": "string", "enum": ["succeeded", "partial", "failed", "cancelled"]},
            "counters": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
        ["integration_id", "kind", "status"],
    ),
    INTEGRATION_NEEDS_ATTENTION: _obj({**_INTEGRATION, "state": _STR, "message": _NULLABLE_STR}, ["state"]),
    WEBHOOK_RECEIVED: _obj({**_INTEGRATION, "accepted": {"type": "boolean"}, "reason": _NULLABLE_STR}),
    DELIVERY_TEST: _obj({"message": _STR}),
}

DESCRIPTIONS: dict[str, str] = {
    ASSET_CREATED: "A device seen for the first time became an asset.",
    ASSET_UPDATED: "Fields of an asset changed (by a sync, or by a user: `source`).",
    ASSET_STATUS_CHANGED: "The agent status (online/offline/...) of an asset changed.",
    ASSET_MISSING: "A device was absent from a complete sync of its integration.",
    ASSET_RETIRED: "An asset was retired (missing too long, or merged into another).",
    ASSET_REVIVED: "A retired or missing device came back.",
    ASSET_REKEYED: "The RMM gave a device a new id; the asset kept its own.",
    ASSET_SOURCE_ATTACHED: "A device of another integration was recognised as this asset's machine and now feeds it.",
    ASSET_MERGE_PROPOSED: "Two assets may be one machine; a merge candidate awaits an admin's decision.",
    ASSET_MERGED: "Another asset was merged into this one (its sources now feed this asset; it is retired).",
    ASSET_UNMERGED: "Sources were taken off this asset into another (restored, or new), never merged again.",
    COVERAGE_CHANGED: "The per-client agent coverage counts (gaps, duplicates) changed after a complete device sync.",
    ALERT_TRIGGERED: "An RMM alert was raised (or re-raised after it was resolved: `reopened`).",
    ALERT_UPDATED: "An active alert changed (severity, message).",
    ALERT_RESOLVED: "An alert was resolved (in the RMM, or by a user: `resolved_by`).",
    ALERT_ACKNOWLEDGED: "A user acknowledged an alert.",
    INTEGRATION_SYNC_STARTED: "A sync run started.",
    INTEGRATION_SYNC_FINISHED: "A sync run finished, with its counters.",
    INTEGRATION_NEEDS_ATTENTION: "An integration needs an admin (credentials refused, re-authentication).",
    WEBHOOK_RECEIVED: "An RMM webhook was received (reserved: no producer yet).",
    DELIVERY_TEST: "Sent by 'send test event'; never in the feed.",
}

EVENT_TYPES: tuple[str, ...] = tuple(DATA_SCHEMAS)
# What a subscription may filter on (the test event always goes to the subscription it tests).
SUBSCRIBABLE: tuple[str, ...] = tuple(t for t in EVENT_TYPES if t != DELIVERY_TEST)


def envelope_schema(event_type: str) -> dict[str, Any]:
    """The JSON body of a ``standard`` delivery of ``event_type`` (Standard Webhooks payload shape)."""
    return {
        "type": "object",
        "title": event_type,
        "description": DESCRIPTIONS[event_type],
        "required": ["id", "type", "timestamp", "version", "tenant_id", "entity_type", "entity_id", "data"],
        "properties": {
            "id": {**_UUID, "description": "The event id (also the webhook-id header): deduplicate on it."},
            "type": {"type": "string", "const": event_type},
            "timestamp": {"type": "string", "format": "date-time"},
            "version": {"type": "string", "const": CATALOGUE_VERSION},
            "tenant_id": _UUID,
            "entity_type": _STR,
            "entity_id": _STR,
            "data": DATA_SCHEMAS[event_type],
            "asset": {
                "type": "object",
                "description": "The asset the event is about (asset and alert events), when known.",
                "properties": {"id": _UUID, "name": _STR, "client_id": {"type": ["string", "null"]}},
            },
        },
    }


def openapi_webhooks() -> dict[str, Any]:
    """The OpenAPI 3.1 ``webhooks`` section: one POST per event type."""
    headers = {
        "webhook-id": {"schema": _STR, "description": "Event id; the same on every retry."},
        "webhook-timestamp": {"schema": {"type": "integer"}, "description": "Unix seconds of this attempt."},
        "webhook-signature": {
            "schema": _STR,
            "description": "Space-separated `v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`; "
            "two during a secret rotation.",
        },
    }
    out: dict[str, Any] = {}
    for event_type in SUBSCRIBABLE:
        out[event_type] = {
            "post": {
                "summary": event_type,
                "description": DESCRIPTIONS[event_type],
                "operationId": f"webhook_{event_type.replace('.', '_')}",
                "tags": ["event catalogue"],
                "parameters": [{"in": "header", "name": k, "required": True, **v} for k, v in headers.items()],
                "requestBody": {"content": {"application/json": {"schema": envelope_schema(event_type)}}},
                "responses": {
                    "2XX": {"description": "Delivered."},
                    "410": {"description": "Gone: the subscription is disabled."},
                },
            }
        }
    return out
