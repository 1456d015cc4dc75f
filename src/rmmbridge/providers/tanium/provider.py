"""The Tanium provider (reference/tanium.md): Gateway GraphQL inventory, computer-group scopes, Asset
API fallback. Pull-only: no webhooks, no alerts, no remote actions in this version.

What the framework may pass in ``ctx.settings`` (besides the integration's own settings):

- ``mapped_scope_ids`` — ids of the computer groups mapped to a client with auto-sync on. They are the
  candidates of the owner rule (:func:`normalize.owner_group`); without them every group is one.
- ``mapped_scope_priorities`` — optional ``{group id: priority}`` overriding the ``group_priorities``
  setting (for when mappings carry a stored priority).
- ``known_devices`` — for the Asset API fallback: an async callable ``(realm_ids) -> rows`` (or the rows
  themselves) describing the devices rmmbridge already maps in those groups; see
  :func:`normalize.known_device` for the row keys. Asset rows are only ever matched to these.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import structlog

from rmmbridge.kit.http import RetryPolicy
from rmmbridge.providers.base import (
    Capability,
    CheckResult,
    DeviceIdChanges,
    DevicePage,
    DeviceSnapshot,
    DeviceSoftware,
    InvalidRecord,
    LivenessPage,
    LivenessRecord,
    Provider,
    ProviderAuthError,
    ProviderConfig,
    ProviderConfigError,
    ProviderContext,
    ProviderError,
    ProviderIncompleteError,
    ProviderReauthRequired,
    ProviderRetriableError,
    RemoteScope,
)
from rmmbridge.providers.registry import register_provider

from . import normalize
from .asset_api import ASSETS_PATH, AssetWalk, shape_of
from .asset_api import listing as asset_listing
from .config import TaniumConfig
from .gateway import (
    COMPUTER_GROUP_DOC,
    COMPUTER_GROUPS_DOC,
    ENDPOINTS_DOC,
    ENDPOINTS_NARROW_DOC,
    ENDPOINTS_PROBE_DOC,
    GATEWAY_PATH,
    GROUPS_PROBE_DOC,
    HARDWARE_DOC,
    ID_CHANGES_DOC,
    LAST_REBOOT_DOC,
    LAST_SEEN_DOC,
    LIVENESS_DOC,
    MEMBERSHIP_DOC,
    MY_TOKENS_DOC,
    NOW_DOC,
    PRIMARY_USER_DOC,
    ROTATE_DOC,
    SOFTWARE_DOC,
    WAN_IP_DOC,
    GatewayQueryError,
    GatewaySchemaError,
    RequestTally,
    TaniumGateway,
    TaniumHttp,
    filter_counts_doc,
)
from .pagination import NARROWED, CursorWalk

log = structlog.get_logger(__name__)

# Check names of the connection test (reference §2), in order.
CHECK_REACHABLE = "Host reachable"
CHECK_GRAPHQL = "Gateway answers GraphQL"
CHECK_TOKEN = "API token valid"  # noqa: S105
CHECK_GROUPS = "Can read computer groups"
CHECK_ENDPOINTS = "Can read endpoints"
CHECK_CONTENT = "Optional Tanium content"
CHECK_EXPIRY = "Token expiry"
CHECK_ASSET = "Asset API"

EXPIRY_WARNING_DAYS = 3
# The configured token is the one whose lastUsed is this request's own time: within this window of the
# server's ``now`` answered in the same request (the list identifies no token as the caller's).
OWN_TOKEN_WINDOW = timedelta(minutes=5)
TEST_RETRY = RetryPolicy(attempts=2, base_delay_s=0.5, max_delay_s=2.0, max_retry_after_s=5.0)
MAX_EXCLUDED_GROUPS = 50  # beyond this the exclusion filter gets large: rely on the client-side rule only
COUNTS_PER_REQUEST = 25
# EIDs per ``endpoints`` id filter when checking which known devices the Gateway still has; one page
# holds the whole batch (``first`` is at most 5,000), and the walk proves it got every listed one.
LAST_SEEN_BATCH = 500
CONSOLE_FIX = "Use the API host: <customer>-api.cloud.tanium.com for Tanium Cloud, the Tanium Server host on-prem."
REPLACE_CREDENTIAL_FIX = (
    "Create a new API token (Console → Administration → Permissions → API Tokens) with rmmbridge's egress IP "
    "address in its trusted IP addresses, and enter it here."
)


@register_provider
class TaniumProvider(Provider):
    key: ClassVar[str] = "tanium"
    display_name: ClassVar[str] = "Tanium"
    description: ClassVar[str] = (
        "Tanium Cloud or on-prem through the API Gateway (GraphQL) with an API token: computer groups as "
        "organizations, endpoints with hardware, OS, network and last-seen status, and installed "
        "applications; optionally the Asset API for endpoints that aged out of the Gateway. Pull-only: "
        "Tanium sends no webhooks or alerts to rmmbridge in this version."
    )
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.connection_test,
            Capability.scope_sync,
            Capability.device_sync,
            Capability.device_refresh,
            Capability.software_inventory,
            Capability.liveness,
        }
    )
    config_model: ClassVar[type[ProviderConfig]] = TaniumConfig
    scope_label: ClassVar[str] = "Computer group"

    def __init__(self, config: ProviderConfig, ctx: ProviderContext) -> None:
        assert isinstance(config, TaniumConfig)
        super().__init__(config, ctx)
        self.cfg: TaniumConfig = config
        self.http = TaniumHttp(config, ctx)
        self.gateway = TaniumGateway(self.http)
        self._groups_task: asyncio.Future[list[str]] | None = None
        self._member_tasks: dict[str, asyncio.Future[frozenset[str]]] = {}
        self._asset_task: asyncio.Future[list[normalize.AssetRecord]] | None = None

    async def aclose(self) -> None:
        for task in (self._groups_task, self._asset_task, *self._member_tasks.values()):
            if task is not None and not task.done():
                task.cancel()
        await self.http.aclose()

    # ------------------------------------------------------------------ settings

    def policy(self) -> normalize.StatusPolicy:
        return normalize.StatusPolicy(self.cfg.offline_after_s, self.cfg.overdue_after_s)

    def priorities(self) -> dict[str, int]:
        merged = {str(k): int(v) for k, v in self.cfg.group_priorities.items()}
        override = self.ctx.settings.get("mapped_scope_priorities")
        if isinstance(override, Mapping):
            for key, value in override.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    merged[str(key)] = value
        return merged

    def mapped_ids(self) -> list[str] | None:
        raw = self.ctx.settings.get("mapped_scope_ids")
        if raw is None or isinstance(raw, str | bytes):
            return None
        return [str(x).strip() for x in raw if str(x).strip()]

    async def candidate_groups(self, scope_id: str | None = None) -> list[str]:
        """The owner-rule candidates in rule order (mapped groups, or every group; plus ``scope_id``)."""
        mapped = self.mapped_ids()
        ids = list(mapped) if mapped is not None else await self._all_group_ids()
        if scope_id is not None:
            ids.append(scope_id)
        return normalize.order_groups(ids, self.priorities())

    # ------------------------------------------------------------------ connection test

    async def test_connection(self, *, totp_code: str | None = None) -> list[CheckResult]:
        """The named checks of reference §2 in order, stopping at the first hard failure."""
        checks: list[CheckResult] = []

        def fail(name: str, message: str, fix: str | None = None) -> list[CheckResult]:
            checks.append(CheckResult(name, False, message, fix=fix))
            return checks

        host = self.http.host
        # 1-3: one `now` query: reachable, the Gateway (not the Console), the token.
        try:
            response, body = await self.http.send(
                "POST",
                GATEWAY_PATH,
                policy=TEST_RETRY,
                json={"query": NOW_DOC, "operationName": "RmmbridgeTaniumNow", "variables": {}},
            )
        except ProviderRetriableError as exc:
            return fail(CHECK_REACHABLE, exc.message, "Check the address, DNS and TLS.")
        checks.append(CheckResult(CHECK_REACHABLE, True, f"{host} answered (HTTP {response.status_code})."))
        token_error: ProviderError | None = None
        try:
            self.http.classify(response, body, area="gateway")
        except ProviderAuthError as exc:
            token_error = exc
        except ProviderConfigError as exc:
            if response.status_code == 401:
                token_error = exc
            else:
                fix = CONSOLE_FIX if response.status_code != 404 else "Enter only the host, without a path."
                return fail(CHECK_GRAPHQL, exc.message, fix)
        except ProviderError as exc:
            return fail(CHECK_GRAPHQL, exc.message, "Try again later; Tanium reported a server-side problem.")
        if token_error is None:
            try:
                data = self.gateway.data_of(_json(body), "RmmbridgeTaniumNow")
            except ProviderError as exc:
                return fail(CHECK_GRAPHQL, exc.message, CONSOLE_FIX)
            if not isinstance(data.get("now"), str):
                return fail(CHECK_GRAPHQL, f"{host} answered, but not like a Tanium API Gateway.", CONSOLE_FIX)
            checks.append(CheckResult(CHECK_GRAPHQL, True, f"The API Gateway answers (server time {data['now']})."))
            checks.append(CheckResult(CHECK_TOKEN, True, "Tanium accepted the API token."))
        else:
            checks.append(CheckResult(CHECK_GRAPHQL, True, "The API Gateway answered."))
            if response.status_code == 401:
                return fail(
                    CHECK_TOKEN,
                    token_error.message,
                    "Give the token's persona the API Gateway permission and read access to the content sets.",
                )
            return fail(CHECK_TOKEN, token_error.message, REPLACE_CREDENTIAL_FIX)

        # 4: computer groups, in a request of its own so an error names this check.
        groups_total = 0
        try:
            data = await self.gateway.query(GROUPS_PROBE_DOC, op="RmmbridgeTaniumGroupsProbe")
            conn = data.get("computerGroups")
            if not isinstance(conn, Mapping) or not isinstance(conn.get("edges"), list):
                raise ProviderIncompleteError("the Gateway returned no computerGroups list")
            groups_total = int(conn.get("totalRecords") or 0)
        except GatewayQueryError as exc:
            return fail(
                CHECK_GROUPS,
                f"The token's persona lacks computer group read rights: {exc.cause or exc.message}",
                "Assign the persona a role that may read computer groups.",
            )
        except ProviderError as exc:
            return fail(CHECK_GROUPS, exc.message)
        checks.append(CheckResult(CHECK_GROUPS, True, f"The token sees {groups_total} computer groups."))

        # 5: endpoints.
        try:
            data = await self.gateway.query(ENDPOINTS_PROBE_DOC, op="RmmbridgeTaniumEndpointsProbe")
            conn = data.get("endpoints")
            if not isinstance(conn, Mapping) or not isinstance(conn.get("edges"), list):
                raise ProviderIncompleteError("the Gateway returned no endpoints list")
            endpoints_total = int(conn.get("totalRecords") or 0)
        except GatewayQueryError as exc:
            return fail(
                CHECK_ENDPOINTS,
                f"The token's persona may not read endpoints: {exc.cause or exc.message}",
                "Give the persona read access to the content sets that hold the inventory sensors.",
            )
        except ProviderError as exc:
            return fail(CHECK_ENDPOINTS, exc.message)
        if endpoints_total == 0 and groups_total > 0:
            checks.append(
                CheckResult(
                    CHECK_ENDPOINTS,
                    True,
                    "The persona sees no endpoints although computer groups exist.",
                    fix="Assign computer management groups to the token's persona.",
                    warning=True,
                )
            )
        else:
            checks.append(CheckResult(CHECK_ENDPOINTS, True, f"The token sees {endpoints_total} endpoints."))

        # 6: the content the enrichment walks need (informational: the core walk needs none of it).
        checks.append(await self._content_check())

        # 7: token expiry (informational).
        checks.append(await self._expiry_check())

        # 8: the Asset API, only when the fallback is on.
        if self.cfg.asset_api_fallback:
            try:
                body_json = await self.http.request_json(
                    "GET", ASSETS_PATH, area="asset", params={"limit": 1, "minimumAssetId": 1}
                )
                if asset_listing(body_json) is None:
                    raise ProviderIncompleteError(
                        f"{ASSETS_PATH} did not answer like the Tanium Asset API ({shape_of(body_json)})."
                    )
            except ProviderError as exc:
                return fail(CHECK_ASSET, exc.message, "Install the Asset module, or disable the Asset API fallback.")
            checks.append(CheckResult(CHECK_ASSET, True, "The Asset API answers (used for aged-out endpoints)."))
        return checks

    def _content_probes(self) -> list[tuple[str, str, str, str]]:
        """(content, document, operation, what the admin loses without it) per enrichment walk."""
        probes = [
            (
                "Core Content",
                HARDWARE_DOC,
                "RmmbridgeTaniumHardware",
                "serial number, manufacturer, model, hardware UUID, CPU, memory, disks and last logged-in user",
            ),
            (
                "Core AD Query Content",
                PRIMARY_USER_DOC,
                "RmmbridgeTaniumPrimaryUser",
                "the primary user (the current user then comes only from the last logged-in user)",
            ),
        ]
        if self.cfg.enrich_vitals:
            probes += [
                ("the Discover module", WAN_IP_DOC, "RmmbridgeTaniumWanIp", "the WAN (NAT) IP address"),
                ("the Last Reboot sensor", LAST_REBOOT_DOC, "RmmbridgeTaniumLastReboot", "the boot time"),
            ]
        return probes

    async def _content_check(self) -> CheckResult:
        """One endpoint through each enrichment document: which optional content is missing and what
        rmmbridge then does not sync (stored values stay)."""
        missing: list[str] = []
        for content, document, op, loss in self._content_probes():
            try:
                await self.gateway.query(document, {"first": 1, "after": None, "filter": None}, op=op)
            except (GatewayQueryError, GatewaySchemaError) as exc:
                missing.append(f"{content} ({exc.cause or exc.message}): no {loss}")
            except ProviderError as exc:
                return CheckResult(
                    CHECK_CONTENT, True, f"Could not check optional content: {exc.message}", warning=True
                )
        if not missing:
            names = " and ".join(c for c, *_ in self._content_probes())
            return CheckResult(CHECK_CONTENT, True, f"The Gateway answers the fields of {names}.")
        return CheckResult(
            CHECK_CONTENT,
            True,
            "Endpoints sync without some optional content, which Tanium lacks: " + "; ".join(missing) + ".",
            fix="Install the missing Tanium content solution (Tanium Console → Solutions) to sync those fields.",
            warning=True,
        )

    async def _token_expiry(self) -> datetime:
        """The configured token's expiry, or :class:`UnknownOwnToken` when it cannot be proven.

        ``myAPITokens`` lists the persona's tokens without token strings and with nothing that marks the
        caller's own; ``lastUsed`` is non-null for all of them. The request that asks is itself a use of
        the configured token, so its row is the one used at the server's ``now`` of the same answer: the
        pick is proven only when exactly one token was used within ``OWN_TOKEN_WINDOW`` of it. Several (other
        clients using other tokens of the same persona) or none (a server that records use lazily) make
        the expiry unknown — never a guess that could rotate someone else's token."""
        data = await self.gateway.query(MY_TOKENS_DOC, op="RmmbridgeTaniumMyTokens")
        payload = data.get("myAPITokens")
        tokens = payload.get("tokens") if isinstance(payload, Mapping) else None
        if not isinstance(tokens, list) or not tokens:
            raise UnknownOwnToken("Tanium listed no API tokens for the token's persona")
        now = normalize.parse_time(data.get("now"))
        if now is None:
            raise UnknownOwnToken("the Gateway did not give its time")
        rows = [t for t in tokens if isinstance(t, Mapping)]
        used_now = [
            t for t in rows if (seen := normalize.parse_time(t.get("lastUsed"))) and abs(now - seen) <= OWN_TOKEN_WINDOW
        ]
        if len(used_now) != 1:
            raise UnknownOwnToken(
                f"{len(used_now)} of the persona's {len(rows)} API tokens were used in the last "
                f"{int(OWN_TOKEN_WINDOW.total_seconds() // 60)} minutes, so rmmbridge cannot tell which one is its "
                "own (Tanium's token list does not say)"
            )
        expires = normalize.parse_time(used_now[0].get("expiration"))
        if expires is None:
            raise UnknownOwnToken("the token's expiration is missing")
        return expires

    async def _expiry_check(self) -> CheckResult:
        try:
            expires = await self._token_expiry()
        except ProviderError as exc:
            return CheckResult(
                CHECK_EXPIRY,
                True,
                f"Token expiry unknown: {exc.message}.",
                fix=OWN_TOKEN_FIX if isinstance(exc, UnknownOwnToken) else None,
                warning=True,
            )
        days = (expires - self.ctx.now()).total_seconds() / 86400
        when = expires.strftime("%Y-%m-%d %H:%M UTC")
        if days < EXPIRY_WARNING_DAYS:
            rotating = self.cfg.rotate_token_automatically
            return CheckResult(
                CHECK_EXPIRY,
                True,
                f"The API token expires in {max(days, 0):.1f} days ({when})."
                + (" rmmbridge rotates it automatically." if rotating else ""),
                fix=None
                if rotating
                else "Create or rotate the token in the Tanium Console and enter the new one "
                "here, or turn on automatic rotation.",
                warning=not rotating,
            )
        return CheckResult(CHECK_EXPIRY, True, f"The API token expires in {int(days)} days ({when}).")

    # ------------------------------------------------------------------ token rotation (§1.3)

    keep_alive_minutes: ClassVar[int | None] = 24 * 60  # the expiry check runs daily

    async def keep_alive(self) -> datetime | None:
        """Daily: read the token's expiry and, with ``rotate_token_automatically``, rotate it when
        fewer than ``rotate_days_before_expiry`` days remain. Returns the (new) expiry.

        When the token's own row cannot be proven (:meth:`_token_expiry`) the expiry is unknown; with
        automatic rotation on that is an error naming why, so nothing is rotated on a guess."""
        expires: datetime | None
        try:
            expires = await self._token_expiry()
        except UnknownOwnToken as exc:
            if self.cfg.rotate_token_automatically:
                raise ProviderConfigError(
                    f"rmmbridge did not rotate the Tanium API token: {exc.message}. {OWN_TOKEN_FIX}",
                    cause="own token ambiguous",
                ) from exc
            self.credentials_expire_at = None
            return None
        if self.cfg.rotate_token_automatically:
            days = (expires - self.ctx.now()).total_seconds() / 86400
            if days < self.cfg.rotate_days_before_expiry:
                expires = await self._rotate()
        self.credentials_expire_at = expires
        return expires

    async def _rotate(self) -> datetime | None:
        try:
            data = await self.gateway.mutate_once(ROTATE_DOC, {"token": self.http.token}, op="RmmbridgeTaniumRotate")
        except (ProviderAuthError, ProviderConfigError):
            raise
        except ProviderError as exc:
            # The answer was lost. Never send the mutation again blindly: ask with the old token
            # whether the rotation happened.
            try:
                await self.gateway.query(NOW_DOC, op="RmmbridgeTaniumNow")
            except ProviderAuthError:
                raise ProviderReauthRequired(
                    "Tanium rotated the API token but its answer was lost, so the new token is unknown and the old "
                    "one no longer works: create a new API token in the Tanium Console and paste it here.",
                    cause=exc.message,
                ) from exc
            raise ProviderRetriableError(
                f"Rotating the Tanium API token failed ({exc.message}); the current token still works and the "
                "rotation is tried again at the next daily check.",
                cause=exc.cause,
            ) from exc
        payload = data.get("apiTokenRotate")
        token = payload.get("token") if isinstance(payload, Mapping) else None
        error = payload.get("error") if isinstance(payload, Mapping) else None
        new = token.get("tokenString") if isinstance(token, Mapping) else None
        if not isinstance(token, Mapping) or not isinstance(new, str) or not new:
            detail = error.get("message") if isinstance(error, Mapping) else None
            raise ProviderError(f"Tanium refused to rotate the API token: {detail or 'no new token returned'}.")
        # Stored first: from this moment the old token is dead (§1.3 rule 2).
        await self.ctx.save_secrets({"api_token": new})
        self.http.use_token(new)
        return normalize.parse_time(token.get("expiration"))

    # ------------------------------------------------------------------ scopes

    def _group_walk(self) -> CursorWalk:
        return CursorWalk(
            self.gateway,
            COMPUTER_GROUPS_DOC,
            "RmmbridgeTaniumComputerGroups",
            connection="computerGroups",
            page_size=500,
            what="computer group listing",
        )

    async def _group_nodes(self) -> list[dict[str, Any]]:
        nodes: list[dict[str, Any]] = []
        async for page in self._group_walk().pages():
            nodes.extend(page)
        return nodes

    async def _all_group_ids(self) -> list[str]:
        if self._groups_task is None:
            self._groups_task = asyncio.ensure_future(self._group_ids())
        return list(await asyncio.shield(self._groups_task))

    async def _group_ids(self) -> list[str]:
        return [n["id"] for n in await self._group_nodes()]

    async def list_scopes(self) -> list[RemoteScope]:
        """Every computer group (a complete listing or an error); ``device_count`` = its ``totalRecords``."""
        nodes = await self._group_nodes()
        counts = await self._group_counts([n["id"] for n in nodes])
        scopes = []
        for node in nodes:
            gid = node["id"]
            raw_name = node.get("name")
            name = raw_name.strip() if isinstance(raw_name, str) and raw_name.strip() else f"Group {gid}"
            scopes.append(
                RemoteScope(
                    gid,
                    name,
                    kind="computer_group",
                    device_count=counts.get(gid),
                    attributes={
                        "type": node.get("type"),
                        "filter_enabled": node.get("filterEnabled"),
                        "management_rights_enabled": node.get("managementRightsEnabled"),
                    },
                )
            )
        return scopes

    async def _group_counts(self, group_ids: list[str]) -> dict[str, int]:
        """Best effort: each group's endpoint count, 25 groups per request; ``{}`` on any error."""
        counts: dict[str, int] = {}
        try:
            for start in range(0, len(group_ids), COUNTS_PER_REQUEST):
                chunk = group_ids[start : start + COUNTS_PER_REQUEST]
                variables = {f"f{i}": {"memberOf": {"id": gid}} for i, gid in enumerate(chunk)}
                data = await self.gateway.query(
                    filter_counts_doc(len(chunk)), variables, op="RmmbridgeTaniumFilterCounts"
                )
                for i, gid in enumerate(chunk):
                    conn = data.get(f"g{i}")
                    total = conn.get("totalRecords") if isinstance(conn, Mapping) else None
                    if isinstance(total, int) and not isinstance(total, bool):
                        counts[gid] = total
        except (ProviderIncompleteError, GatewayQueryError, ProviderRetriableError):
            return counts
        return counts

    # ------------------------------------------------------------------ devices

    async def _members(self, group_id: str) -> frozenset[str]:
        """The EIDs of one group (id-only walk), once per provider instance."""
        task = self._member_tasks.get(group_id)
        if task is None:
            task = asyncio.ensure_future(self._walk_members(group_id))
            self._member_tasks[group_id] = task
        return await asyncio.shield(task)

    async def _walk_members(self, group_id: str) -> frozenset[str]:
        walk = CursorWalk(
            self.gateway,
            MEMBERSHIP_DOC,
            "RmmbridgeTaniumMembership",
            variables={"filter": {"memberOf": {"id": group_id}}},
            page_size=self.cfg.membership_page_size,
            what=f"membership listing of computer group {group_id}",
        )
        ids: set[str] = set()
        async for page in walk.pages():
            ids.update(n["id"] for n in page)
        return frozenset(ids)

    def _listing_filter(self, group_id: str, higher: list[str]) -> dict[str, Any]:
        if not higher or not self.cfg.exclude_owned_server_side or len(higher) > MAX_EXCLUDED_GROUPS:
            return {"memberOf": {"id": group_id}}
        return {
            "any": False,
            "filters": [
                {"memberOf": {"id": group_id}},
                *({"memberOf": {"id": h}, "negated": True} for h in higher),
            ],
        }

    async def _owner_rule(self, scope: RemoteScope) -> _OwnerRule:
        """Steps 1 of the owner rule for ``scope`` (shared by the device sync and the liveness pass):
        the groups ranking before it, their members (id-only walks, once per provider instance),
        and the listing filter that asks the Gateway to leave their endpoints out."""
        group_id = _group_id(scope)
        order = await self.candidate_groups(group_id)
        higher = order[: order.index(group_id)]
        members = {h: await self._members(h) for h in higher}
        return _OwnerRule(group_id, higher, members, self.priorities(), self._listing_filter(group_id, higher))

    async def iter_device_pages(  # type: ignore[override]
        self, scope: RemoteScope, *, since: datetime | None = None
    ) -> AsyncIterator[DevicePage]:
        """The group's endpoints as snapshots whose ``realm_id`` follows the owner rule.

        1. Membership pass: the EIDs of every candidate group that ranks before this one (id-only walks,
           once per provider instance).
        2. Inventory pass of this group, asking the Gateway to leave out endpoints of those groups
           (compound filter with negated ``memberOf``); the client-side rule is applied anyway, so an
           endpoint that is still listed (or moved between passes) gets its owner's realm — it is then
           ingested under the same client as from its owner's walk, never another.
        3. With the Asset API fallback on, known devices of this group that the complete walk did not
           list and that the Gateway no longer knows (aged out) are looked up in the Asset API.
        """
        rule = await self._owner_rule(scope)
        group_id = rule.group_id
        extra = await self._enrichments(rule.listing, f"computer group {scope.name or group_id}")
        walk = CursorWalk(
            self.gateway,
            ENDPOINTS_DOC,
            "RmmbridgeTaniumEndpoints",
            variables={"filter": rule.listing},
            page_size=self.cfg.page_size,
            what=f"endpoint listing of computer group {scope.name or group_id}",
            fallback=ENDPOINTS_NARROW_DOC,
        )
        policy = self.policy()
        fallback = self.cfg.asset_api_fallback
        listed: set[str] = set()
        async for nodes in walk.pages():
            now = self.ctx.now()
            snapshots: list[DeviceSnapshot] = []
            invalid: list[InvalidRecord] = []
            for node in nodes:
                try:
                    snapshot = normalize.endpoint_snapshot(node, rule.owner(node["id"]), policy, now)
                    snapshots.append(normalize.enriched(snapshot, extra, now, narrowed=bool(node.get(NARROWED))))
                except InvalidRecord as exc:
                    invalid.append(exc)
                if fallback:
                    listed.add(node["id"])
            del nodes
            yield DevicePage(snapshots, invalid, total=walk.total)
        if fallback:
            async for page in self._fallback(scope, group_id, listed, empty=walk.total == 0):
                yield page

    async def iter_liveness_pages(self, scope: RemoteScope) -> AsyncIterator[LivenessPage]:  # type: ignore[override]
        """Every endpoint of the group with only ``id`` and ``eidLastSeen``, under its owning group.

        The same owner rule, listing filter and complete-or-raise cursor walk (with its restart on an
        expired cursor) as :meth:`iter_device_pages`, with a document that asks no sensor and pages of
        ``membership_page_size`` (the records are as small as the membership walk's). No enrichment,
        no Asset API fallback: an aged-out endpoint has no last seen to move. ``requests`` counts every
        HTTP request the page cost (membership walks and retries included; a membership walk another
        scope started counts to that scope).
        """
        tally = RequestTally().install()
        rule = await self._owner_rule(scope)
        walk = CursorWalk(
            self.gateway,
            LIVENESS_DOC,
            "RmmbridgeTaniumLiveness",
            variables={"filter": rule.listing},
            page_size=self.cfg.membership_page_size,
            what=f"liveness listing of computer group {scope.name or rule.group_id}",
        )
        policy = self.policy()
        async for nodes in walk.pages():
            now = self.ctx.now()
            records: list[LivenessRecord] = []
            invalid: list[InvalidRecord] = []
            for node in nodes:
                try:
                    records.append(normalize.liveness_record(node, rule.owner(node["id"]), policy, now))
                except InvalidRecord as exc:
                    invalid.append(exc)
            yield LivenessPage(records, invalid, requests=tally.take())

    async def fetch_device(self, external_id: str, external_ref: str | None = None) -> DeviceSnapshot | None:
        """One endpoint by EID (``filter: {path: "id"}``); its realm by the owner rule; ``None`` if unknown."""
        return await self._fetch_endpoint(external_id, None)

    async def fetch_unknown_device(self, record: LivenessRecord) -> DeviceSnapshot | None:
        """The endpoint a liveness pass listed first: the single-endpoint fetch, with the owner the
        pass already determined (no owner lookup)."""
        return await self._fetch_endpoint(record.external_id, record.realm_id or None)

    async def _fetch_endpoint(self, external_id: str, owner: str | None) -> DeviceSnapshot | None:
        eid = str(external_id or "").strip()
        if not eid:
            return None
        # The walk's checks and its field-error fallback for one page of (at most) one endpoint.
        walk = CursorWalk(
            self.gateway,
            ENDPOINTS_DOC,
            "RmmbridgeTaniumEndpoints",
            variables={"filter": {"path": "id", "value": eid}},
            page_size=2,
            what=f"lookup of endpoint {eid}",
            fallback=ENDPOINTS_NARROW_DOC,
        )
        node = None
        async for page in walk.pages():
            node = next((n for n in page if n["id"] == eid), node)
        if node is None:
            return None
        if owner is None:
            owner = await self._owner_of(eid)
        extra = await self._enrichments({"path": "id", "value": eid}, f"endpoint {eid}")
        now = self.ctx.now()
        snapshot = normalize.endpoint_snapshot(node, owner or "", self.policy(), now)
        return normalize.enriched(snapshot, extra, now, narrowed=bool(node.get(NARROWED)))

    async def _enrichments(self, listing: dict[str, Any], label: str) -> normalize.Enrichments:
        """Content-dependent fields by EID from the best-effort enrichment walks (§4.7): hardware (Core
        Content), primary user (Core AD Query Content) and, with ``enrich_vitals``, WAN IP (Discover) and
        boot time (Last Reboot sensor). An enrichment that fails is off for this run: stored values stay."""
        hardware = await self._enrichment(
            HARDWARE_DOC, "RmmbridgeTaniumHardware", listing, label, normalize.hardware_fields
        )
        users = await self._enrichment(
            PRIMARY_USER_DOC, "RmmbridgeTaniumPrimaryUser", listing, label, normalize.primary_user, keep_none=True
        )
        if not self.cfg.enrich_vitals:
            return normalize.Enrichments(hardware=hardware, users=users)
        wan = await self._enrichment(WAN_IP_DOC, "RmmbridgeTaniumWanIp", listing, label, normalize.nat_ip)
        boot = await self._enrichment(
            LAST_REBOOT_DOC, "RmmbridgeTaniumLastReboot", listing, label, normalize.last_reboot
        )
        return normalize.Enrichments(wan=wan, boot=boot, hardware=hardware, users=users)

    async def _enrichment(
        self,
        document: str,
        op: str,
        listing: dict[str, Any],
        label: str,
        extract: Callable[[Any], Any],
        *,
        keep_none: bool = False,
    ) -> dict[str, Any] | None:
        walk = CursorWalk(
            self.gateway,
            document,
            op,
            variables={"filter": listing},
            page_size=self.cfg.page_size,
            what=f"{op} walk of {label}",
        )
        values: dict[str, Any] = {}
        try:
            async for nodes in walk.pages():
                for node in nodes:
                    value = extract(node)
                    if value is not None or keep_none:  # keep_none: "known to be empty" is a value
                        values[node["id"]] = value
        except (ProviderAuthError, ProviderConfigError):
            raise
        except ProviderError as exc:  # a missing module, a failing sensor: this field only, this run only
            log.warning("tanium_enrichment_off", op=op, target=label, reason=exc.message)
            return None
        return values

    async def device_id_changes(self, since: str) -> DeviceIdChanges:
        """EIDs re-keyed by merges and re-registrations after ``since`` (§6): ``before`` is the
        next watermark; without one, the request time minus five minutes (re-applying is safe)."""
        after = datetime.fromisoformat(since)
        if after.tzinfo is None:
            after = after.replace(tzinfo=UTC)
        asked_at = self.ctx.now()
        data = await self.gateway.query(ID_CHANGES_DOC, {"after": _rfc3339(after)}, op="RmmbridgeTaniumIdChanges")
        result = data.get("endpointIdChanges")
        if not isinstance(result, Mapping):
            raise ProviderIncompleteError("The Gateway answered endpointIdChanges without a result.")
        changes = [
            (str(c["oldId"]), str(c["newId"]))
            for c in result.get("changes") or []
            if isinstance(c, Mapping) and c.get("oldId") and c.get("newId")
        ]
        before = result.get("before")
        watermark = str(before) if isinstance(before, str) and before else _rfc3339(asked_at - timedelta(minutes=5))
        return DeviceIdChanges(changes, watermark)

    async def _owner_of(self, eid: str) -> str | None:
        """The first candidate group (rule order) that lists ``eid``; 25 groups per request."""
        candidates = await self.candidate_groups()
        for start in range(0, len(candidates), COUNTS_PER_REQUEST):
            chunk = candidates[start : start + COUNTS_PER_REQUEST]
            variables = {
                f"f{i}": {"filters": [{"memberOf": {"id": gid}}, {"path": "id", "value": eid}]}
                for i, gid in enumerate(chunk)
            }
            data = await self.gateway.query(filter_counts_doc(len(chunk)), variables, op="RmmbridgeTaniumFilterCounts")
            for i, gid in enumerate(chunk):
                conn = data.get(f"g{i}")
                total = conn.get("totalRecords") if isinstance(conn, Mapping) else None
                if isinstance(total, int) and not isinstance(total, bool) and total > 0:
                    return gid
        return None

    # ------------------------------------------------------------------ Asset API fallback

    async def _fallback(
        self, scope: RemoteScope, group_id: str, listed: set[str], *, empty: bool
    ) -> AsyncIterator[DevicePage]:
        """§7.3 after a complete Gateway walk of a mapped group.

        Candidates are the group's *known* devices (``known_devices``: what rmmbridge maps under this
        group) that the walk did not list and that the Gateway no longer knows at all (aged out of TDS);
        an empty group is the common case. They are matched to Asset API rows (one Asset walk per run);
        a matched row keeps the known device's id and realm (so its client) and counts as present.
        Unmatched rows are never assigned. A vanished group never triggers a fallback. Any failure
        fails this group's listing as incomplete (so nothing is marked missing) — never the other groups.
        Without a ``known_devices`` source an empty group is incomplete for the same reason.
        """
        try:
            if empty:
                data = await self.gateway.query(COMPUTER_GROUP_DOC, {"id": group_id}, op="RmmbridgeTaniumComputerGroup")
                if data.get("computerGroup") is None:
                    return  # the group vanished: no fallback that could pull foreign records into its client
            known = await self._known_devices([group_id])
            if known is None:
                if not empty:
                    return
                raise ProviderIncompleteError(
                    f"Computer group {scope.name or group_id} has no endpoints in the Gateway and the Asset API "
                    "fallback is on, but rmmbridge supplied no list of the group's known devices to match Asset "
                    "records against; the group is treated as incomplete so none of its assets is marked missing.",
                    cause="known_devices not provided",
                )
            absent = [k for k in known if k.external_id not in listed]
            if not absent:
                return
            alive = await self._gateway_eids([k.external_id for k in absent])
            aged_out = [k for k in absent if k.external_id not in alive]
            if not aged_out:
                return
            records = await self._asset_records()
        except ProviderIncompleteError:
            raise
        except ProviderError as exc:
            raise ProviderIncompleteError(
                f"The Asset API fallback for computer group {scope.name or group_id} failed: {exc.message}",
                cause=exc.cause or type(exc).__name__,
            ) from exc
        index = normalize.KnownDeviceIndex(aged_out)
        policy, now = self.policy(), self.ctx.now()
        snapshots: list[DeviceSnapshot] = []
        matched: set[str] = set()
        for record in records:
            device = index.match(record)
            if device is None or device.external_id in matched:
                continue
            matched.add(device.external_id)
            snapshots.append(normalize.asset_snapshot(record, device, policy, now))
        if snapshots:
            yield DevicePage(snapshots, total=len(snapshots))

    async def _known_devices(self, realm_ids: list[str]) -> list[normalize.KnownDevice] | None:
        """Devices rmmbridge maps in these groups (``ctx.known_devices``); ``None`` if not provided."""
        source = self.ctx.known_devices or self.ctx.settings.get("known_devices")
        if source is None:
            return None
        rows: Any
        if callable(source):
            rows = source(list(realm_ids))
            if inspect.isawaitable(rows):
                rows = await rows
        elif isinstance(source, Mapping):
            rows = [r for rid in realm_ids for r in source.get(rid) or []]
        else:
            rows = source
        wanted = set(realm_ids)
        out = []
        for row in rows or []:
            device = normalize.known_device(row)
            if device is not None and device.realm_id in wanted:
                out.append(device)
        return out

    async def _gateway_eids(self, eids: list[str]) -> set[str]:
        """Which of ``eids`` the Gateway still knows: ``endpoints`` filtered to batches of ids, each a
        complete walk (its count proven against ``totalRecords``) or an error. An EID is concluded aged
        out only from a complete answer for a filter that asked for it."""
        alive: set[str] = set()
        for start in range(0, len(eids), LAST_SEEN_BATCH):
            batch = eids[start : start + LAST_SEEN_BATCH]
            listing = {"any": True, "filters": [{"path": "id", "value": eid} for eid in batch]}
            walk = CursorWalk(
                self.gateway,
                LAST_SEEN_DOC,
                "RmmbridgeTaniumLastSeen",
                variables={"filter": listing},
                page_size=len(batch),
                what="check of which known endpoints the Gateway still has",
            )
            async for nodes in walk.pages():
                alive.update(n["id"] for n in nodes)
        return alive

    async def _asset_records(self) -> list[normalize.AssetRecord]:
        """One complete Asset API walk per provider instance (per run), kept as compact records."""
        if self._asset_task is None:
            self._asset_task = asyncio.ensure_future(self._walk_assets())
        return await asyncio.shield(self._asset_task)

    async def _walk_assets(self) -> list[normalize.AssetRecord]:
        records: list[normalize.AssetRecord] = []
        async for rows in AssetWalk(self.http).pages():
            for row in rows:
                record = normalize.asset_record(row)
                if record is not None:
                    records.append(record)
        return records

    # ------------------------------------------------------------------ software

    async def iter_software(self) -> AsyncIterator[DeviceSoftware]:  # type: ignore[override]
        """Installed applications, one endpoint at a time (pages of ``software_page_size``).

        Limited to the mapped groups when the framework passes them, otherwise every visible endpoint.
        A walk that cannot be proven complete raises after the complete endpoints were yielded.
        """
        if not self.cfg.include_software:
            return
        mapped = self.mapped_ids()
        filt: dict[str, Any] | None = None
        if mapped:
            parts = [{"memberOf": {"id": g}} for g in normalize.order_groups(mapped)]
            filt = parts[0] if len(parts) == 1 else {"any": True, "filters": parts}
        walk = CursorWalk(
            self.gateway,
            SOFTWARE_DOC,
            "RmmbridgeTaniumSoftware",
            variables={"filter": filt},
            page_size=self.cfg.software_page_size,
            what="installed-applications listing",
        )
        async for nodes in walk.pages():
            for node in nodes:
                yield DeviceSoftware(
                    external_id=node["id"],
                    software=normalize.installed_software(node.get("installedApplications")),
                    external_ref=normalize.clean(node.get("computerID")),
                )
            del nodes


class UnknownOwnToken(ProviderError):
    """The configured token's row in ``myAPITokens`` cannot be proven (see ``_token_expiry``)."""


OWN_TOKEN_FIX = (
    "Give rmmbridge's API token a persona no other client's token uses, or rotate the token in the Tanium "  # noqa: S105
    "Console and enter the new one here."
)


@dataclass(frozen=True)
class _OwnerRule:
    """The owner rule (§3.3) as it applies to one group's listing."""

    group_id: str
    higher: list[str]  # candidate groups ranking before this one, in rule order
    members: dict[str, frozenset[str]]  # their EIDs
    priorities: dict[str, int]
    listing: dict[str, Any]  # the Gateway filter: this group, without the higher groups' endpoints

    def owner(self, eid: str) -> str:
        """The owning group of an endpoint this group's walk listed (itself, unless a higher one has it)."""
        groups = [h for h in self.higher if eid in self.members[h]]
        if not groups:  # the common case (the Gateway honoured the exclusion): no rule to apply
            return self.group_id
        return normalize.owner_group([*groups, self.group_id], None, self.priorities) or self.group_id


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _group_id(scope: RemoteScope) -> str:
    gid = str(scope.external_id).strip()
    if not gid:
        raise ProviderConfigError("A Tanium computer group id is empty")
    return gid


def known_devices_of(rows: Iterable[Mapping[str, Any]]) -> list[normalize.KnownDevice]:
    """Helper for framework wiring and tests: crosswalk rows → :class:`normalize.KnownDevice`."""
    return [d for d in (normalize.known_device(r) for r in rows) if d is not None]
