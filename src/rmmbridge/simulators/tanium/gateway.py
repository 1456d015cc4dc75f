"""The Gateway's GraphQL execution: root resolvers, Endpoint/ComputerGroup views, and the HTTP-level result
shape.

Documents run through graphql-core against :mod:`.schema`, so any valid document over the schema works
(aliases, fragments, variables, ``@include``/``@skip``), and invalid ones fail validation as on the real
Gateway: HTTP 200, ``errors``, no ``data``. Execution errors (expired cursor, rejected filter, absent module)
come back as ``{"data": {...null...}, "errors": [{"path": [...]}]}``.
"""

from __future__ import annotations

import email.utils
import json
import random
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeGuard

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSyntaxError,
    execute,
    parse,
    validate,
)

from rmmbridge.simulators.tanium.cursors import Collection, CursorError, encode_cursor, window
from rmmbridge.simulators.tanium.filters import FilterError, compile_filter, parse_time
from rmmbridge.simulators.tanium.fleet import ComputerGroup, Endpoint, installed_applications
from rmmbridge.simulators.tanium.schema import gateway_schema
from rmmbridge.simulators.tanium.state import TaniumSimulator
from rmmbridge.simulators.tanium.tokens import ApiToken

DEFAULT_PAGE_SIZE = 100  # computerGroups; endpoints defaults ``first`` to 20 in the schema itself
NEVER_USED = "0001-01-01T00:00:00Z"
_DOCUMENT_CACHE_SIZE = 256


def format_time(value: datetime | None, fractional: bool = False) -> str | None:
    """RFC 3339 in UTC with ``Z``; ``.mmmZ`` when ``fractional`` (some endpoints report milliseconds)."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if fractional:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


@dataclass
class RequestContext:
    sim: TaniumSimulator
    token: ApiToken
    now: datetime
    resolved: bool = False  # a root resolver ran (tells request errors from execution errors)
    cursor_error: bool = False
    drop_response: bool = False


@dataclass
class GraphQLResponse:
    status: int
    body: dict[str, Any]
    drop_response: bool = False


# ---- views -------------------------------------------------------------------------------------------------


# Fields whose sensors ship with optional Tanium content (per the real schema's field descriptions; see
# schema.py). Without that content installed the sensor does not exist and the field fails as a field error.
CORE_CONTENT = "Core Content"
AD_QUERY_CONTENT = "Core AD Query Content"
CONTENT_OF_FIELD: dict[str, str] = {
    **dict.fromkeys(
        (
            "serialNumber", "systemUUID", "manufacturer", "model", "lastLoggedInUser", "installedApplications",
            "memory.total", "memory.ram", "processor.cpu", "processor.logicalProcessors", "processor.speed",
            "disks.total", "disks.free", "disks.usedPercentage", "disks.usedSpace",
        ),
        CORE_CONTENT,
    ),
    "primaryUser.name": AD_QUERY_CONTENT,
    "primaryUser.email": AD_QUERY_CONTENT,
}


class EndpointView:
    """An :class:`Endpoint` under its GraphQL field names (graphql-core's default resolver reads these).

    Nested objects are dicts whose leaves may be callables (graphql-core calls them as resolvers), so a
    leaf can fail on its own: a missing content solution or an injected ``field_fault`` raises a field
    error exactly where the real server would, and null propagation does the rest.
    """

    __slots__ = ("_ctx", "_ep", "_fault")

    def __init__(self, ep: Endpoint, ctx: RequestContext, fault: str | None = None) -> None:
        self._ep = ep
        self._ctx = ctx
        self._fault = fault  # a dotted field path that fails on this endpoint (SimModes.field_fault)

    def _field(self, path: str, value: Any) -> Any:
        """``value``, or a field error when ``path`` needs absent content or is the injected fault."""
        content = CONTENT_OF_FIELD.get(path)
        if content is not None and content not in self._ctx.sim.modes.installed_content():
            raise GraphQLError(
                f"sensor for {path} is not available: the {content} solution is not installed"
            )
        if path == self._fault:
            raise GraphQLError(f"TSE-Error: failed to read {path} for endpoint {self._ep.eid}")
        return value

    def _leaf(self, path: str, value: Any) -> Any:
        """A nested leaf resolved lazily: only a selected leaf can fail."""
        return lambda _info, **_args: self._field(path, value)

    @property
    def id(self) -> str:
        return self._ep.eid

    @property
    def name(self) -> str:
        return self._field("name", self._ep.name)  # type: ignore[no-any-return]

    @property
    def namespace(self) -> str:
        return ""

    @property
    def computerID(self) -> str:
        return self._field("computerID", self._ep.computer_id)  # type: ignore[no-any-return]

    @property
    def systemUUID(self) -> str:
        return self._field("systemUUID", self._ep.system_uuid)  # type: ignore[no-any-return]

    @property
    def serialNumber(self) -> str:
        return self._field("serialNumber", self._ep.serial_number)  # type: ignore[no-any-return]

    @property
    def manufacturer(self) -> str:
        return self._field("manufacturer", self._ep.manufacturer)  # type: ignore[no-any-return]

    @property
    def model(self) -> str:
        return self._field("model", self._ep.model)  # type: ignore[no-any-return]

    @property
    def chassisType(self) -> str:
        return self._field("chassisType", self._ep.chassis_type)  # type: ignore[no-any-return]

    @property
    def domainName(self) -> str:
        return self._field("domainName", self._ep.domain_name)  # type: ignore[no-any-return]

    @property
    def isVirtual(self) -> bool:
        return self._ep.is_virtual

    @property
    def eidFirstSeen(self) -> str | None:
        return format_time(self._ep.first_seen, self._ep.fractional_times)

    @property
    def eidLastSeen(self) -> str | None:
        seen = self._ctx.sim.fleet.eid_last_seen(self._ep, self._ctx.now)
        return format_time(seen, self._ep.fractional_times)

    @property
    def ipAddress(self) -> str:
        return self._field("ipAddress", self._ep.ip_address)  # type: ignore[no-any-return]

    @property
    def ipAddresses(self) -> list[str] | None:
        # Nullable in the real schema: an endpoint that reported none has null, not [].
        return self._field("ipAddresses", self._ep.ip_addresses or None)  # type: ignore[no-any-return]

    @property
    def macAddresses(self) -> list[str] | None:
        return self._field("macAddresses", self._ep.mac_addresses or None)  # type: ignore[no-any-return]

    @property
    def lastLoggedInUser(self) -> str:
        return self._field("lastLoggedInUser", self._ep.last_logged_in_user)  # type: ignore[no-any-return]

    @property
    def primaryUser(self) -> dict[str, Any]:
        return {
            "name": self._leaf("primaryUser.name", self._ep.primary_user_name),
            "email": self._leaf("primaryUser.email", self._ep.primary_user_email),
        }

    @property
    def os(self) -> dict[str, Any]:
        os = self._ep.os
        windows = None
        if os.release_id is not None:
            major = os.version.split(".")[0] if os.version else ""
            kind = "Windows Server" if "server" in os.name.lower() else "Windows Workstation"
            windows = {"releaseId": os.release_id, "majorVersion": major, "type": kind}
        return {
            "name": self._leaf("os.name", os.name),
            "platform": self._leaf("os.platform", os.platform),
            "generation": self._leaf("os.generation", os.generation),
            "language": "en-US",
            "windows": windows,
        }

    @property
    def memory(self) -> dict[str, Any]:
        ep = self._ep
        return {"total": self._leaf("memory.total", ep.memory_total), "ram": self._leaf("memory.ram", ep.memory_total)}

    @property
    def processor(self) -> dict[str, Any]:
        ep = self._ep
        return {
            "cpu": self._leaf("processor.cpu", ep.cpu),
            "logicalProcessors": self._leaf("processor.logicalProcessors", ep.logical_processors),
            "speed": self._leaf("processor.speed", ep.cpu_speed),
        }

    @property
    def disks(self) -> list[dict[str, Any]] | None:
        if not self._ep.disks:
            return None  # nullable list in the real schema
        return [
            {
                "name": d.name,
                "total": self._leaf("disks.total", d.total or None),
                "free": self._leaf("disks.free", d.free or None),
                "usedPercentage": self._leaf("disks.usedPercentage", d.used_percentage or None),
                "usedSpace": self._leaf("disks.usedSpace", None),
            }
            for d in self._ep.disks
        ]

    def installedApplications(self, info: GraphQLResolveInfo, filter: dict[str, Any] | None = None) -> list[Any]:
        apps = self._field("installedApplications", installed_applications(self._ep))
        keep = _application_filter(filter)
        return [{"name": a.name, "version": a.version} for a in apps if keep(a.name, a.version)]

    @property
    def discover(self) -> dict[str, Any]:
        if not self._ctx.sim.modes.discover_installed:
            raise GraphQLError("Discover module is not installed: field discover is unavailable")
        return {"natIpAddress": self._ep.nat_ip or None}

    def sensorReadings(
        self, info: GraphQLResolveInfo, sensors: list[dict[str, Any]], includeHiddenColumns: bool = False
    ) -> dict[str, Any]:
        columns = []
        for ref in sensors:
            name = str(ref.get("name") or "")
            column = self._sensor_column(name)
            wanted = ref.get("columns")
            if wanted is not None and column["name"] not in wanted:
                raise GraphQLError(f"sensor {name!r} has no column named {', '.join(map(repr, wanted))}")
            columns.append(column)
        return {"columns": columns}

    def _sensor_column(self, name: str) -> dict[str, Any]:
        ep = self._ep
        key = name.strip().lower()
        if key == "last reboot":
            if self._ctx.sim.modes.last_reboot_sensor_fails:
                raise GraphQLError("TSE-Error: sensor 'Last Reboot' failed to evaluate")
            # Reported in the endpoint's local zone, RFC 2822 style: "Sat, 11 Apr 2026 21:50:13 -0400".
            zone = timezone(timedelta(hours=(-4, -5, 1, 0)[(ep.customer or 0) % 4]))
            value = email.utils.format_datetime(ep.last_reboot.astimezone(zone).replace(microsecond=0))
            return {"name": "Last Reboot", "values": [value], "sensor": {"name": "Last Reboot"}}
        if key == "computer name":
            return {"name": "Computer Name", "values": [ep.name], "sensor": {"name": "Computer Name"}}
        raise GraphQLError(f"sensor not found: {name!r}")


def _application_filter(spec: dict[str, Any] | None) -> Any:
    """``installedApplications(filter:)`` on ``name``/``version`` with EQ, CONTAINS, STARTS_WITH (case-
    insensitive), ``negated`` and compound ``any``; anything else is rejected as a field error."""
    if spec is None:
        return lambda _name, _version: True
    subs = spec.get("filters")
    if subs:
        parts = [_application_filter(sub) for sub in subs]
        combine = any if spec.get("any") else all
        compound = lambda n, v: combine(p(n, v) for p in parts)  # noqa: E731
        return (lambda n, v: not compound(n, v)) if spec.get("negated") else compound
    path, op, wanted = spec.get("path"), spec.get("op") or "EQ", str(spec.get("value") or "").lower()
    if path not in ("name", "version") or op not in ("EQ", "CONTAINS", "STARTS_WITH"):
        raise GraphQLError(f"installedApplications filter on {path!r} with {op} is not supported")
    tests = {"EQ": str.__eq__, "CONTAINS": str.__contains__, "STARTS_WITH": str.startswith}
    test = tests[op]

    def keep(name: str, version: str) -> bool:
        hit = bool(test((name if path == "name" else version).lower(), wanted))
        return hit != bool(spec.get("negated"))

    return keep


def _group_view(group: ComputerGroup) -> dict[str, Any]:
    content_set = {"id": group.content_set[0], "name": group.content_set[1]} if group.content_set else None
    return {
        "id": group.id,
        "name": group.name,
        "type": group.type,
        "expression": group.expression,
        "filterEnabled": group.filter_enabled,
        "managementRightsEnabled": group.management_rights_enabled,
        "contentSet": content_set,
        "contentSetV2": {**content_set, "description": None} if content_set else None,
        "modifiedTime": None,
    }


def _token_view(token: ApiToken, *, with_secret: bool) -> dict[str, Any]:
    return {
        "id": token.id,
        "tokenString": token.token_string if with_secret else None,
        "created": format_time(token.created),
        "expiration": format_time(token.expiration),
        # Non-null in the real schema: a token never used still has a value (the zero time).
        "lastUsed": format_time(token.last_used) or NEVER_USED,
        "notes": token.notes,
        "persona": {"name": token.persona},
        "trustedIPAddresses": token.trusted_ips,
    }


def _system_error(message: str, *, retryable: bool = False) -> dict[str, Any]:
    return {"message": message, "retryable": retryable, "timedOut": False}


# ---- root --------------------------------------------------------------------------------------------------


def _page_size(ctx: RequestContext, name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if value < 0:
        raise GraphQLError(f"argument {name} must be a non-negative integer")
    limit = ctx.sim.max_page_size
    if value > limit:
        if ctx.sim.modes.page_size_overflow == "error":
            raise GraphQLError(f"argument {name} must not exceed {limit}")
        return limit
    return value


def _binding_key(**parts: Any) -> str:
    return json.dumps(parts, sort_keys=True, default=str)


def _locate(ctx: RequestContext, kind: str, key: str, cursor: str | None) -> tuple[Collection, int] | None:
    if cursor is None:
        return None
    try:
        return ctx.sim.cursors.resolve(cursor, kind, key, ctx.now)
    except CursorError as exc:
        ctx.cursor_error = True
        raise GraphQLError(str(exc)) from exc


def _page_info(coll: Collection, start: int, end: int) -> dict[str, Any]:
    return {
        "hasNextPage": end < len(coll.items),
        "hasPreviousPage": start > 0,
        "startCursor": encode_cursor(coll, start) if end > start else None,
        "endCursor": encode_cursor(coll, end - 1) if end > start else None,
    }


def _sort_key(sort: list[dict[str, Any]] | None) -> tuple[str, str] | None:
    """``(path, order)`` of the one sort field, or ``None``; "define up to one sort field"."""
    if not sort:
        return None
    if len(sort) > 1:
        raise GraphQLError("sort: define up to one sort field")
    spec = sort[0]
    if spec.get("sensor") is not None or spec.get("path") not in _SORT_PATHS:
        raise GraphQLError(f"sort: unsupported sort field {spec.get('path') or spec.get('sensor')!r}")
    return str(spec["path"]), str(spec.get("order") or "asc")


def _id_order(eid: str) -> tuple[int, int | str]:
    return (0, int(eid)) if eid.isdigit() else (1, eid)


_SORT_PATHS: dict[str, Any] = {
    "id": lambda ep: _id_order(ep.eid),
    "name": lambda ep: ep.name.lower(),
}


def _ordered(items: list[str], sort: tuple[str, str] | None, fleet: Any, salt: int) -> tuple[str, ...]:
    """The collection's order. Without ``sort`` it is undefined, and here it really differs between
    collections (a shuffle seeded per collection), so a client relying on it sees the difference."""
    if sort is None:
        random.Random(salt).shuffle(items)
        return tuple(items)
    path, order = sort
    getter = _SORT_PATHS[path]
    items.sort(key=lambda eid: getter(fleet.endpoints.get(eid) or fleet.aged_out[eid]), reverse=order == "desc")
    return tuple(items)


class GatewayRoot:
    """Root value for queries and mutations; graphql-core's default resolver calls these methods."""

    def now(self, info: GraphQLResolveInfo) -> str | None:
        ctx: RequestContext = info.context
        ctx.resolved = True
        return format_time(ctx.now)

    def endpoints(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        ctx: RequestContext = info.context
        ctx.resolved = True
        sim = ctx.sim
        first = _page_size(ctx, "first", args.get("first"))
        last = _page_size(ctx, "last", args.get("last"))
        if first is None and last is None:
            first = DEFAULT_PAGE_SIZE
        filter_spec = args.get("filter")
        live = bool((args.get("source") or {}).get("ts"))
        sort = _sort_key(args.get("sort"))
        scope = sim.personas.get(ctx.token.persona)
        key = _binding_key(
            filter=filter_spec, live=live, sort=sort, scope=sorted(scope) if scope is not None else None
        )
        after = _locate(ctx, "endpoints", key, args.get("after"))
        before = _locate(ctx, "endpoints", key, args.get("before"))
        coll = (after or before or (None, 0))[0]
        if coll is None:
            try:
                predicate = compile_filter(filter_spec, sim.fleet, ctx.now)
            except FilterError as exc:
                raise GraphQLError(str(exc)) from exc
            fleet = sim.fleet
            items = [
                eid
                for eid, ep in fleet.endpoints.items()
                if (scope is None or not scope.isdisjoint(ep.groups))
                and (not live or ep.online_phase_s is not None)
                and predicate(ep)
            ]
            coll = sim.cursors.open("endpoints", key, _ordered(items, sort, fleet, sim.cursors.opened), ctx.now)
        win = window(len(coll.items), after[1] if after else None, before[1] if before else None, first, last)
        indices = list(range(win.start, win.end))
        info_page = _page_info(coll, win.start, win.end)
        total = len(coll.items)
        fault = sim.modes.take_walk_fault() if after is not None else None
        if fault == "short_listing":
            info_page["hasNextPage"] = False
        elif fault == "repeated_cursor":
            info_page["endCursor"] = args.get("after")
            info_page["hasNextPage"] = True
        elif fault == "null_cursor":
            info_page["endCursor"] = None
            info_page["hasNextPage"] = True
        elif fault == "total_drift":
            total += 1
        elif fault == "duplicate_eid" and indices and indices[0] > 0:
            indices[0] = indices[0] - 1
        # A field fault hits one endpoint of a page that continues a walk (the middle of a listing).
        hit = after is not None or sim.modes.field_fault_first_pages
        field_fault = sim.modes.take_field_fault() if hit and indices else None
        edges = []
        for i in indices:
            eid = coll.items[i]
            # The collection is materialized: an endpoint that aged out mid-walk is still listed with its last
            # data.
            ep = sim.fleet.endpoints.get(eid) or sim.fleet.aged_out.get(eid)
            if ep is None:
                continue
            edges.append({"cursor": encode_cursor(coll, i), "node": EndpointView(ep, ctx, field_fault)})
            field_fault = None  # one endpoint per page
        return {
            "edges": edges,
            "pageInfo": info_page,
            "totalRecords": total,
            "collectionInfo": {
                "active": False,
                "success": True,
                "contributedTotal": total,
                "expectedTotal": total,
                "respondedTotal": total,
                "respondedPercentage": 100.0,
                "startCursor": encode_cursor(coll, 0) if coll.items else None,
            },
        }

    def computerGroups(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        ctx: RequestContext = info.context
        ctx.resolved = True
        first = _page_size(ctx, "first", args.get("first"))
        last = _page_size(ctx, "last", args.get("last"))
        if first is None and last is None:
            first = DEFAULT_PAGE_SIZE
        spec = args.get("filter") or {}
        key = _binding_key(filter=spec)
        after = _locate(ctx, "computerGroups", key, args.get("after"))
        before = _locate(ctx, "computerGroups", key, args.get("before"))
        coll = (after or before or (None, 0))[0]
        if coll is None:
            items = tuple(
                g.id
                for g in ctx.sim.fleet.groups.values()
                if (spec.get("filterEnabled") is None or g.filter_enabled == spec["filterEnabled"])
                and (
                    spec.get("managementRightsEnabled") is None
                    or g.management_rights_enabled == spec["managementRightsEnabled"]
                )
                and (spec.get("type") is None or g.type == spec["type"])
            )
            coll = ctx.sim.cursors.open("computerGroups", key, items, ctx.now)
        win = window(len(coll.items), after[1] if after else None, before[1] if before else None, first, last)
        edges = []
        for i in range(win.start, win.end):
            group = ctx.sim.fleet.groups.get(coll.items[i])
            if group is not None:
                edges.append({"cursor": encode_cursor(coll, i), "node": _group_view(group)})
        return {
            "edges": edges,
            "pageInfo": _page_info(coll, win.start, win.end),
            "totalRecords": len(coll.items),
        }

    def computerGroup(self, info: GraphQLResolveInfo, ref: dict[str, Any]) -> dict[str, Any] | None:
        ctx: RequestContext = info.context
        ctx.resolved = True
        fleet = ctx.sim.fleet
        if ref.get("id") is not None:
            group = fleet.groups.get(str(ref["id"]))
        elif ref.get("name") is not None:
            group = fleet.group_by_name(str(ref["name"]))
        else:
            raise GraphQLError("ref requires id or name")
        return _group_view(group) if group else None

    def endpointIdChanges(self, info: GraphQLResolveInfo, after: str, namespace: str | None = None) -> dict[str, Any]:
        ctx: RequestContext = info.context
        ctx.resolved = True
        try:
            since = parse_time(str(after))
        except ValueError as exc:
            raise GraphQLError(f"invalid Time value for after: {after!r}") from exc
        changes = [{"oldId": c.old_id, "newId": c.new_id} for c in ctx.sim.fleet.id_changes if since < c.at <= ctx.now]
        return {"before": format_time(ctx.now), "changes": changes}

    def endpointLastSeen(self, info: GraphQLResolveInfo, eids: list[str]) -> dict[str, str]:
        """Deprecated; "despite accepting a list, only one EID can be specified": more than one is
        rejected (``last_seen_multi="error"``) or silently cut to the first (``"first"``)."""
        ctx: RequestContext = info.context
        ctx.resolved = True
        fleet = ctx.sim.fleet
        if len(eids) > 1:
            if ctx.sim.modes.last_seen_multi == "error":
                raise GraphQLError("endpointLastSeen: only one EID can be specified")
            eids = eids[:1]
        result: dict[str, str] = {}
        for eid in eids:
            ep = fleet.endpoints.get(str(eid))
            if ep is None:
                continue
            seen = format_time(fleet.eid_last_seen(ep, ctx.now), ep.fractional_times)
            if seen is not None:
                result[ep.eid] = seen
        return result

    def myAPITokens(self, info: GraphQLResolveInfo) -> dict[str, Any]:
        ctx: RequestContext = info.context
        ctx.resolved = True
        tokens = [
            _token_view(t, with_secret=False)
            for t in ctx.sim.tokens
            if not t.revoked and t.persona == ctx.token.persona
        ]
        return {"tokens": tokens, "error": None}

    def apiTokenGrant(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: RequestContext = info.context
        ctx.resolved = True
        persona = input.get("personaName") or ctx.token.persona
        if persona not in ctx.sim.personas:
            return {"token": None, "error": _system_error(f"persona not found: {persona}")}
        days = input.get("expiresInDays")
        if days is not None and days <= 0:
            return {"token": None, "error": _system_error("expiresInDays must be positive")}
        try:
            token = ctx.sim.tokens.grant(
                ctx.now,
                expires_in_days=days if days is not None else 7,
                notes=input.get("notes") or "",
                persona=persona,
                trusted_ips=list(input.get("trustedIPAddresses") or []),
            )
        except ValueError as exc:
            return {"token": None, "error": _system_error(f"invalid trusted IP address: {exc}")}
        return {"token": _token_view(token, with_secret=True), "error": None}

    def apiTokenRotate(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: RequestContext = info.context
        ctx.resolved = True
        try:
            token = ctx.sim.tokens.rotate(str(input["tokenString"]), ctx.now)
        except LookupError as exc:
            return {"token": None, "error": _system_error(str(exc))}
        if ctx.sim.modes.rotate_drops_response:
            ctx.drop_response = True
        return {"token": _token_view(token, with_secret=True), "error": None}

    def apiTokenRevoke(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        ctx: RequestContext = info.context
        ctx.resolved = True
        token_id = str(input["id"])
        if not ctx.sim.tokens.revoke(token_id):
            return {"error": _system_error(f"token not found: {token_id}")}
        return {"error": None}


_ROOT = GatewayRoot()


def _resolve_field(root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """graphql-core's default resolver, minus its ``source`` parameter name, which collides with the
    ``endpoints(source:)`` argument when the arguments are passed on as keywords."""
    name = info.field_name
    value = root.get(name) if isinstance(root, dict) else getattr(root, name, None)
    return value(info, **args) if callable(value) else value


def _never_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    # Every resolver is synchronous; skipping graphql-core's awaitable probe per field saves ~10 % per page.
    return False


# ---- request handling --------------------------------------------------------------------------------------


def _document(sim: TaniumSimulator, query: str) -> DocumentNode | list[GraphQLError]:
    cached = sim.documents.get(query)
    if cached is not None:
        sim.documents.move_to_end(query)
        return cached
    try:
        document = parse(query)
    except GraphQLSyntaxError as exc:
        return [exc]
    errors = validate(gateway_schema(), document)
    if errors:
        return list(errors)
    sim.documents[query] = document
    if len(sim.documents) > _DOCUMENT_CACHE_SIZE:
        sim.documents.popitem(last=False)
    return document


def _bad_request(message: str) -> GraphQLResponse:
    return GraphQLResponse(400, {"errors": [{"message": message}]})


def run_graphql(sim: TaniumSimulator, token: ApiToken, payload: Any, now: datetime) -> GraphQLResponse:
    """Execute one GraphQL-over-HTTP request body."""
    if not isinstance(payload, dict):
        return _bad_request("POST body must be a JSON object")
    query = payload.get("query")
    variables = payload.get("variables")
    operation_name = payload.get("operationName")
    if not isinstance(query, str) or not query.strip():
        return _bad_request("Must provide query string.")
    if variables is not None and not isinstance(variables, dict):
        return _bad_request("Variables must be provided as an object.")
    if operation_name is not None and not isinstance(operation_name, str):
        return _bad_request("operationName must be a string.")
    document = _document(sim, query)
    if isinstance(document, list):
        return GraphQLResponse(200, {"errors": [e.formatted for e in document]})
    ctx = RequestContext(sim=sim, token=token, now=now)
    result = execute(
        gateway_schema(),
        document,
        root_value=_ROOT,
        context_value=ctx,
        variable_values=variables,
        operation_name=operation_name,
        field_resolver=_resolve_field,
        is_awaitable=_never_awaitable,
    )
    assert isinstance(result, ExecutionResult)  # every resolver is synchronous
    errors = [e.formatted for e in result.errors or []]
    if result.data is None and not ctx.resolved:
        # Request error (unknown operation, variable coercion): no data key, as the spec and the Gateway do.
        return GraphQLResponse(200, {"errors": errors})
    body: dict[str, Any] = {"data": result.data}
    if ctx.cursor_error and sim.modes.cursor_error_data_null:
        body["data"] = None
    if errors:
        body["errors"] = errors
    return GraphQLResponse(200, body, drop_response=ctx.drop_response)
