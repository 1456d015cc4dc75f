"""The NinjaOne provider (reference/ninjaone.md): OAuth2 client apps on one regional instance,
organizations as scopes, devices through ``/v2/devices-detailed`` with the fail-closed ``after``
walk, liveness through ``/v2/devices``, alerts (``/v2/alerts`` keyed on the series uid, and the
webhook), software through the ``queries/software`` cursor walk, webhook provisioning and alert reset.

What the framework may pass in ``ctx.settings``: ``mapped_scope_ids`` (the mapped organizations, to
filter alerts, software and the webhook's ``organizationIds``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar
from urllib.parse import urlencode

from rmmbridge.providers.base import (
    ActivityPage,
    AlertEvent,
    Capability,
    CheckResult,
    DeviceActivity,
    DevicePage,
    DeviceSnapshot,
    DeviceSoftware,
    InvalidRecord,
    LivenessPage,
    Provider,
    ProviderAuthError,
    ProviderConfig,
    ProviderConfigError,
    ProviderContext,
    ProviderError,
    ProviderIncompleteError,
    ProviderReauthRequired,
    ProviderRetriableError,
    ProvisionReport,
    ProvisionStep,
    RemoteScope,
    WebhookRequest,
    WebhookTarget,
)
from rmmbridge.providers.registry import register_provider

from . import normalize
from .auth import parse_code_exchange
from .client import NinjaAppError, NinjaClient
from .config import NinjaOneConfig
from .pagination import after_walk

HEADER = "X-Rmmbridge-Webhook-Secret"
# Node classes with an agent reporting ``system``/``os`` (§4.7); the others never have them.
INVENTORY_CLASSES = ("WINDOWS_", "MAC", "LINUX_")
CHECK_REACHABLE = "Instance reachable"
CHECK_APP = "Client app on this instance"
CHECK_GRANT = "Grant and scopes accepted"
CHECK_ORGS = "Can read organizations"
CHECK_DEVICES = "Can read devices"
WEBHOOK_ACTIVITIES: dict[str, list[str]] = {
    "CONDITION": ["TRIGGERED", "RESET", "ACKNOWLEDGED"],
    "SYSTEM": [
        "NODE_CREATED",
        "NODE_UPDATED",
        "NODE_DELETED",
        "NODE_RE_ENROLLED",
        "NODE_MANUALLY_APPROVED",
        "NODE_AUTOMATICALLY_APPROVED",
        "SYSTEM_REBOOTED",
        "CLIENT_CREATED",
        "CLIENT_UPDATED",
        "CLIENT_DELETED",
    ],
    "MONITOR": [
        "SOFTWARE_ADDED",
        "SOFTWARE_REMOVED",
        "SOFTWARE_UPDATED",
        "CPU_ADDED",
        "CPU_REMOVED",
        "MEMORY_ADDED",
        "MEMORY_REMOVED",
        "DISK_DRIVE_ADDED",
        "DISK_DRIVE_REMOVED",
        "ADAPTER_ADDED",
        "ADAPTER_REMOVED",
    ],
}


@register_provider
class NinjaOneProvider(Provider):
    key: ClassVar[str] = "ninjaone"
    display_name: ClassVar[str] = "NinjaOne"
    description: ClassVar[str] = (
        "NinjaOne (any region) through API v2 with an OAuth2 client app — client credentials, or sign-in "
        "with NinjaOne (authorization code with PKCE): organizations, devices with hardware, OS and status, "
        "alerts (polling and webhooks, configured by rmmbridge) and installed software."
    )
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.connection_test,
            Capability.scope_sync,
            Capability.device_sync,
            Capability.device_refresh,
            Capability.alert_webhook,
            Capability.alert_polling,
            Capability.software_inventory,
            Capability.liveness,
            Capability.alert_actions,
            Capability.webhook_provisioning,
        }
    )
    config_model: ClassVar[type[ProviderConfig]] = NinjaOneConfig
    auth_modes: ClassVar[tuple[str, ...]] = ("client_credentials", "authorization_code")
    allows_multiple: ClassVar[bool] = True
    webhook_header: ClassVar[str | None] = HEADER
    scope_label: ClassVar[str] = "Organization"
    keep_alive_minutes: ClassVar[int | None] = 15  # background refresh ahead of expiry (§2.5)
    # §6.1: only alerts once listed by /v2/alerts are closed by a poll that no longer lists them (a
    # webhook's seriesUid equalling the polled uid is unverified, §6.3).
    alert_poll_resolves: ClassVar[str] = "poll_seen"
    webhook_secret_overlap_s: ClassVar[int] = 600  # §7.1: the old secret works 10 minutes after a rotation

    @staticmethod
    def webhook_setup_steps() -> list[str]:
        return [
            "Connect and test the integration, then map the organizations whose alerts you want.",
            "Press “Configure NinjaOne webhook”: rmmbridge sends NinjaOne its URL, the activities it uses and the "
            "secret header (PUT /v2/webhook). Nothing is copied by hand.",
            "Press it again after mapping more organizations or rotating the secret (NinjaOne keeps one webhook "
            "configuration per client app; use a client app of its own for rmmbridge).",
            "If NinjaOne answers that a signed-in user is required, switch the sign-in method to "
            "“Sign in with the RMM” and connect with NinjaOne.",
        ]

    def __init__(self, config: ProviderConfig, ctx: ProviderContext) -> None:
        assert isinstance(config, NinjaOneConfig)
        super().__init__(config, ctx)
        self.cfg: NinjaOneConfig = config
        self.client = NinjaClient(config, ctx)

    async def aclose(self) -> None:
        await self.client.aclose()

    def mapped_ids(self) -> list[int] | None:
        raw = self.ctx.settings.get("mapped_scope_ids")
        if raw is None or isinstance(raw, str | bytes):
            return None
        return sorted({int(x) for x in raw if str(x).strip().isdigit()})

    def _org_df(self) -> dict[str, str]:
        ids = self.mapped_ids()
        return {"df": f"org in ({','.join(map(str, ids))})"} if ids else {}

    # ------------------------------------------------------------------ connection

    async def test_connection(self, *, totp_code: str | None = None) -> list[CheckResult]:
        checks: list[CheckResult] = []
        host = self.cfg.host
        try:
            await self.client.tokens.token(force=True)
        except ProviderConfigError as exc:
            checks.append(CheckResult(CHECK_REACHABLE, True, f"{host} answered"))
            name = CHECK_APP if "does not exist" in exc.message else CHECK_GRANT
            fix = (
                "Pick the region where the client app was created (Administration → Apps → API shows it)."
                if name == CHECK_APP
                else "Allow the grant and the scopes on the NinjaOne client app."
            )
            checks.append(CheckResult(name, False, exc.message, fix=fix))
            return checks
        except ProviderRetriableError as exc:
            checks.append(
                CheckResult(
                    CHECK_REACHABLE,
                    False,
                    exc.message,
                    fix=f"Check that {host} is reachable from rmmbridge (DNS, firewall, proxy).",
                )
            )
            return checks
        except ProviderReauthRequired as exc:
            checks.append(CheckResult(CHECK_REACHABLE, True, f"{host} answered"))
            checks.append(CheckResult(CHECK_APP, True, f"client app {self.cfg.client_id} on {host}"))
            checks.append(
                CheckResult(
                    CHECK_GRANT,
                    False,
                    exc.message,
                    fix="Press “Connect with NinjaOne” and sign in as a NinjaOne administrator.",
                )
            )
            return checks
        except ProviderAuthError as exc:
            checks.append(CheckResult(CHECK_REACHABLE, True, f"{host} answered"))
            checks.append(
                CheckResult(
                    CHECK_APP, False, exc.message, fix="Copy the client id and secret of the NinjaOne client app again."
                )
            )
            return checks
        checks.append(CheckResult(CHECK_REACHABLE, True, f"{host} answered"))
        checks.append(CheckResult(CHECK_APP, True, f"client app {self.cfg.client_id} exists on {host}"))
        checks.append(
            CheckResult(CHECK_GRANT, True, f"{self.cfg.auth_mode.replace('_', ' ')}: " + " ".join(self.cfg.scopes()))
        )
        for name, path in ((CHECK_ORGS, "/organizations"), (CHECK_DEVICES, "/devices")):
            try:
                await self.client.request("GET", path, params={"pageSize": 1})
            except ProviderError as exc:
                checks.append(
                    CheckResult(
                        name, False, exc.message, fix="Allow the 'monitoring' scope on the NinjaOne client app."
                    )
                )
                return checks
            checks.append(CheckResult(name, True, "ok"))
        return checks

    def authorize_url(self, redirect_uri: str, state: str, code_challenge: str) -> str:
        """The consent page (§2.4): least-privilege scopes plus offline_access, ``state``, PKCE S256."""
        params = {
            "response_type": "code",
            "client_id": self.cfg.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.cfg.scopes()),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.cfg.base_url}/ws/oauth/authorize?{urlencode(params)}"

    async def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None) -> dict[str, str]:
        """The code for tokens (byte-identical ``redirect_uri``); no refresh token fails the connection."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.cfg.client_id,
            "client_secret": self.cfg.client_secret.get_secret_value(),
        }
        if code_verifier:
            form["code_verifier"] = code_verifier
        body = await self.client.tokens.post_token(form)
        return parse_code_exchange(body, self.ctx.now().timestamp())

    async def keep_alive(self) -> Any:
        """Refresh ahead of expiry while nobody waits, so a revoked refresh token shows before a sync fails."""
        await self.client.tokens.token()
        return None

    # ------------------------------------------------------------------ scopes and devices

    async def list_scopes(self) -> list[RemoteScope]:
        scopes = []
        async for rows in after_walk(
            self.client, "/organizations-detailed", page_size=self.cfg.page_size, what="organization list"
        ):
            for row in rows:
                locations = [
                    {"id": loc.get("id"), "name": loc.get("name")}
                    for loc in row.get("locations") or []
                    if isinstance(loc, dict)
                ]
                scopes.append(
                    RemoteScope(
                        str(row["id"]),
                        str(row.get("name") or f"Organization {row['id']}"),
                        kind="organization",
                        attributes={"locations": locations},
                    )
                )
        return scopes

    async def iter_device_pages(  # type: ignore[override]
        self, scope: RemoteScope, *, since: Any = None
    ) -> AsyncIterator[DevicePage]:
        """One organization's approved devices (``df=org = <id>``), fail-closed (§4.2)."""
        org = _org_id(scope)
        listed = 0
        for attempt in (1, 2):
            async for rows in after_walk(
                self.client,
                "/devices-detailed",
                page_size=self.cfg.page_size,
                params={"df": f"org = {org}"},
                what=f"device list of {scope.name}",
            ):
                snapshots, invalid = self._normalize(await self._with_inventory(rows))
                listed += len(rows)
                yield DevicePage(snapshots, invalid)
            if listed or attempt == 2 or not await self._known_in(scope):
                break
            # An empty first page for an organization with known devices: NinjaOne's glitch (§9). Ask once more.
        await self._ratio_guard(scope, listed)

    async def _with_inventory(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """§4.7: ``system``/``os`` are not in the official schema; when a tenant's ``devices-detailed``
        rows lack them, the same documented data comes from the ``computer-systems`` and
        ``operating-systems`` query reports (§5.2), joined on ``deviceId`` — two cursor walks
        restricted to this page's ids (``df=id in (…)``), never one call per device. Only agent
        classes are asked: hypervisor hosts, VM guests and NMS devices have no such objects."""
        lacking: dict[str, list[int]] = {"system": [], "os": []}
        for row in rows:
            did = row.get("id") if isinstance(row, dict) else None
            if not isinstance(did, int) or not str(row.get("nodeClass") or "").startswith(INVENTORY_CLASSES):
                continue
            for key in lacking:
                if not isinstance(row.get(key), dict):
                    lacking[key].append(did)
        found: dict[str, dict[int, dict[str, Any]]] = {}
        for key, report in (("system", "computer-systems"), ("os", "operating-systems")):
            if lacking[key]:
                found[key] = await self._report_by_device(report, lacking[key])
        if not found:
            return rows
        out = []
        for row in rows:
            did = row.get("id") if isinstance(row, dict) else None
            extra = {k: found[k][did] for k in found if isinstance(did, int) and did in found[k]}
            out.append({**row, **extra} if extra else row)
        return out

    async def _report_by_device(self, report: str, ids: list[int]) -> dict[int, dict[str, Any]]:
        """One query report for these devices: deviceId → row (``deviceId``/``timestamp`` dropped).
        A 4xx on a cursor (expired) restarts the walk once; a second failure is incomplete."""
        for attempt in (1, 2):
            found: dict[int, dict[str, Any]] = {}
            params: dict[str, Any] = {"df": f"id in ({','.join(map(str, ids))})", "pageSize": 1000}
            cursor: str | None = None
            try:
                while True:
                    query = {**params, **({"cursor": cursor} if cursor else {})}
                    _, body = await self.client.request("GET", f"/queries/{report}", params=query)
                    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                        raise ProviderIncompleteError(f"NinjaOne's {report} report sent an unexpected shape")
                    rows = body["results"]
                    for row in rows:
                        if isinstance(row, dict) and isinstance(row.get("deviceId"), int):
                            found[row["deviceId"]] = {
                                k: v for k, v in row.items() if k not in ("deviceId", "timestamp")
                            }
                    info = body.get("cursor")
                    name = info.get("name") if isinstance(info, dict) else None
                    if not rows or not name:
                        return found
                    cursor = str(name)
            except NinjaAppError as exc:
                if attempt == 2 or exc.status >= 500:
                    raise ProviderIncompleteError(
                        f"the {report} report could not be read to its end: {exc.message}", cause=exc.code
                    ) from exc
        return {}

    async def _known_in(self, scope: RemoteScope) -> int:
        if self.ctx.known_devices is None:
            return 0
        return len(await self.ctx.known_devices([scope.external_id]))

    async def _ratio_guard(self, scope: RemoteScope, listed: int) -> None:
        known = await self._known_in(scope)
        if known and listed < known * self.cfg.missing_ratio_guard:
            raise ProviderIncompleteError(
                f"NinjaOne listed {listed} devices in {scope.name}, where rmmbridge knows {known}: treated as an "
                "incomplete listing (nothing is marked missing); if they were really removed, set the "
                "missing ratio guard to 0 for one sync",
                cause="missing ratio guard",
            )

    def _normalize(self, rows: list[dict[str, Any]]) -> tuple[list[DeviceSnapshot], list[InvalidRecord]]:
        now = self.ctx.now()
        snapshots, invalid = [], []
        for row in rows:
            try:
                snapshots.append(normalize.device_snapshot(row, now, self.cfg.overdue_after_minutes * 60))
            except InvalidRecord as exc:
                invalid.append(exc)
        return snapshots, invalid

    async def fetch_device(self, external_id: str, external_ref: str | None = None) -> DeviceSnapshot | None:
        """``/v2/devices-detailed?df=id = <id>`` (the same shape as the sync; approved devices only)."""
        if not str(external_id).strip().isdigit():
            return None
        _, rows = await self.client.request(
            "GET", "/devices-detailed", params={"df": f"id = {int(external_id)}", "pageSize": 1}
        )
        if not isinstance(rows, list):
            raise ProviderIncompleteError("NinjaOne sent something other than a list for one device")
        if not rows:
            return None
        rows = await self._with_inventory(rows)
        try:
            return normalize.device_snapshot(rows[0], self.ctx.now(), self.cfg.overdue_after_minutes * 60)
        except InvalidRecord as exc:
            raise ProviderError(f"NinjaOne device {external_id} could not be read: {exc.cause}") from exc

    async def iter_liveness_pages(self, scope: RemoteScope) -> AsyncIterator[LivenessPage]:  # type: ignore[override]
        """``/v2/devices`` (the basic shape: ``offline`` and ``lastContact``), fail-closed like the sync."""
        org = _org_id(scope)
        now = self.ctx.now()
        async for rows in after_walk(
            self.client,
            "/devices",
            page_size=1000,
            params={"df": f"org = {org}"},
            what=f"device status list of {scope.name}",
        ):
            records, invalid = [], []
            for row in rows:
                try:
                    records.append(normalize.liveness_record(row, now, self.cfg.overdue_after_minutes * 60))
                except InvalidRecord as exc:
                    invalid.append(exc)
            yield LivenessPage(records, invalid, requests=1)

    # ------------------------------------------------------------------ alerts

    async def iter_alerts(self) -> AsyncIterator[AlertEvent]:  # type: ignore[override]
        """Every active alert in one response (``/v2/alerts`` is not paginated), keyed on ``uid``."""
        _, rows = await self.client.request("GET", "/alerts", params=self._org_df() or None)
        if not isinstance(rows, list):
            raise ProviderIncompleteError("NinjaOne sent something other than a list for /v2/alerts")
        for row in rows:
            try:
                yield normalize.alert_event(row)
            except InvalidRecord:
                continue

    async def iter_activity_pages(  # type: ignore[override]
        self, watermark: str | None, *, max_pages: int = 50
    ) -> AsyncIterator[ActivityPage]:
        """Missed webhooks, backfilled (§6.2): ``/v2/activities`` newer than the highest activity id
        already processed, newest first, walked down with ``olderThan`` until an empty page. Each
        activity is parsed exactly as a delivery is. The first call only sets the watermark (what
        happened before rmmbridge listened is not a missed delivery; the poll has the active alerts)."""
        page_size = 1000
        if watermark is None or not str(watermark).isdigit():
            _, body = await self.client.request("GET", "/activities", params={"pageSize": 10})
            yield ActivityPage([], [], str(_last_activity_id(body, 0)))
            return
        newer = int(watermark)
        newest = newer
        older: int | None = None
        for _ in range(max_pages):
            params: dict[str, Any] = {"newerThan": newer, "pageSize": page_size}
            if older is not None:
                params["olderThan"] = older
            _, body = await self.client.request("GET", "/activities", params=params)
            rows = body.get("activities") if isinstance(body, dict) else None
            if not isinstance(rows, list):
                raise ProviderIncompleteError("NinjaOne sent an unexpected shape for /v2/activities")
            ids = [r["id"] for r in rows if isinstance(r, dict) and isinstance(r.get("id"), int)]
            if not ids:
                break
            newest = max(newest, *ids)
            events: list[AlertEvent] = []
            activities: list[DeviceActivity] = []
            # Oldest first within the page; across pages the alert writer's ordering rule (7.4 step 7)
            # keeps a late trigger from reopening a reset.
            for row in sorted((r for r in rows if isinstance(r, dict)), key=lambda r: r.get("id") or 0):
                try:
                    events.append(normalize.activity_alert(row))
                except DeviceActivity as act:
                    activities.append(act)
                except InvalidRecord:
                    continue
            yield ActivityPage(events, activities, str(newest))
            older = min(ids)  # a short page is not the end (the server may cap pageSize): only an empty one
        else:
            raise ProviderIncompleteError(
                f"more than {max_pages * page_size} activities since the last backfill; the rest is skipped",
                cause="activity backfill cap",
            )

    async def reset_alert(self, external_alert_id: str) -> bool:
        """``POST /v2/alert/{uid}/reset`` with the series uid (never an activity id). ``False`` when NinjaOne
        no longer has it (404: already reset). Retried at most once (§8)."""
        uid = str(external_alert_id).strip()
        if not uid or ":" in uid:  # a "<device>:<config>" fallback key is not a NinjaOne uid
            return False
        try:
            status, _ = await self.client.request("POST", f"/alert/{uid}/reset", ok_404=True, attempts=2)
        except NinjaAppError as exc:
            raise ProviderError(f"NinjaOne could not reset alert {uid}: {exc.message}") from exc
        return status != 404

    # ------------------------------------------------------------------ software

    async def iter_software(self) -> AsyncIterator[DeviceSoftware]:  # type: ignore[override]
        """The ``queries/software`` cursor walk (§5): pages of ``pageSize`` rows, one device's list at a
        time; stops only on empty ``results`` (or a null cursor after a page). A 4xx on a cursor (it
        expired) restarts the walk once — devices already yielded are not yielded again."""
        done: set[str] = set()
        for attempt in (1, 2):
            try:
                async for item in self._software_walk(done):
                    yield item
                return
            except NinjaAppError as exc:
                if attempt == 2 or exc.status >= 500:
                    raise ProviderIncompleteError(
                        f"the software report could not be read to its end: {exc.message}", cause=exc.code
                    ) from exc

    async def _software_walk(self, done: set[str]) -> AsyncIterator[DeviceSoftware]:
        grouper = normalize.SoftwareGrouper()
        params: dict[str, Any] = {**self._org_df(), "pageSize": self.cfg.software_page_size}
        cursor: str | None = None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            _, body = await self.client.request("GET", "/queries/software", params=query)
            if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                raise ProviderIncompleteError("NinjaOne's software report sent an unexpected shape")
            rows = body["results"]
            for row in rows:
                finished = grouper.add(row)
                if finished is not None and finished.external_id not in done:
                    done.add(str(finished.external_id))
                    yield finished
            info = body.get("cursor")
            name = info.get("name") if isinstance(info, dict) else None
            if not rows or not name:
                break
            cursor = str(name)
        last = grouper.flush()
        if last is not None and last.external_id not in done:
            done.add(str(last.external_id))
            yield last

    # ------------------------------------------------------------------ webhooks

    @classmethod
    def parse_webhook(cls, request: WebhookRequest) -> AlertEvent:
        return normalize.activity_alert(normalize.parse_body(request.body))

    def webhook_configuration(self, url: str, secret: str) -> dict[str, Any]:
        """The ``PUT /v2/webhook`` body (§7.1): rmmbridge's URL and its secret as a custom header."""
        body: dict[str, Any] = {"url": url, "expand": ["device"], "headers": [{"name": HEADER, "value": secret}]}
        if not self.cfg.receive_all_activities:
            body["activities"] = WEBHOOK_ACTIVITIES
        ids = self.mapped_ids()
        if ids:
            body["organizationIds"] = ids
        return body

    async def _put_webhook(self, url: str, secret: str) -> None:
        """``PUT /v2/webhook`` (idempotent; one configuration per client app, so this replaces
        whatever the app had)."""
        body = self.webhook_configuration(url, secret)
        try:
            await self.client.request("PUT", "/webhook", json=body)
        except NinjaAppError as exc:
            if exc.status == 400 and "organizationIds" in body:  # an older instance may reject the field
                body.pop("organizationIds")
                await self.client.request("PUT", "/webhook", json=body)
                return
            raise ProviderError(f"NinjaOne refused the webhook configuration: {exc.message}") from exc

    def _with_scopes(self, target: WebhookTarget) -> None:
        if target.scope_ids:
            self.ctx.settings = {**self.ctx.settings, "mapped_scope_ids": list(target.scope_ids)}

    async def provision_webhook(self, target: WebhookTarget, *, send_test: bool = True) -> ProvisionReport:
        """Configure NinjaOne to deliver to rmmbridge: one ``PUT /v2/webhook`` with rmmbridge's URL and
        the secret as a custom header, limited to the mapped organizations."""
        self._with_scopes(target)
        try:
            await self._put_webhook(target.url, target.secret)
        except ProviderError as exc:
            return ProvisionReport([ProvisionStep("webhook configuration (PUT /v2/webhook)", "failed", exc.message,
                                                  fix="check that the client app has the management scope")])
        steps = [ProvisionStep("webhook configuration (PUT /v2/webhook)", "updated", f"deliveries go to {target.url}")]
        if not send_test:
            return ProvisionReport(steps)
        delivered, detail = await self.send_test_webhook(target)
        return ProvisionReport(steps, delivered, detail)

    async def send_test_webhook(self, target: WebhookTarget) -> tuple[bool, str]:
        """NinjaOne's API has no "send a test delivery": a synthetic delivery of NinjaOne's shape goes
        straight to rmmbridge's receiver, said as such (it proves rmmbridge's side only)."""
        now = time.time()
        body = {"id": int(now), "activityTime": now, "activityType": "SYSTEM", "statusCode": "RMMBRIDGE_TEST",
                "status": "rmmbridge synthetic test delivery", "message": "rmmbridge test delivery"}
        try:
            async with self.ctx.http(timeout=10.0) as http:
                response = await http.post(target.url, json=body, headers={target.header: target.secret})
        except Exception as exc:  # any transport failure is the answer here
            return False, f"synthetic test delivery failed: {exc}"
        ok = response.status_code < 300
        return ok, ("synthetic test delivery (NinjaOne has no test endpoint) "
                    + ("accepted" if ok else f"refused: HTTP {response.status_code}"))

    async def update_webhook_secret(self, target: WebhookTarget) -> ProvisionReport:
        """The secret lives in NinjaOne's webhook configuration: send the configuration again."""
        return await self.provision_webhook(target, send_test=False)

    async def remove_webhook(self, target: WebhookTarget) -> ProvisionReport:
        try:
            await self.client.request("DELETE", "/webhook", attempts=2)
        except ProviderError as exc:
            return ProvisionReport([ProvisionStep("webhook configuration", "failed", exc.message)])
        return ProvisionReport([ProvisionStep("webhook configuration", "removed")])

    async def webhook_hints(self, target: WebhookTarget, missed: list[AlertEvent]) -> list[str]:
        return [
            "Polling found alerts NinjaOne never delivered: run \"Configure NinjaOne webhook\" again (it "
            "replaces the client app's webhook configuration), and check that no other tool re-configured the "
            "same client app's webhook."
        ]

    async def resolve_alerts(self, external_alert_ids: list[str]) -> None:
        """NinjaOne resets an alert by its series uid; one already reset (404) counts as done."""
        for uid in external_alert_ids:
            await self.reset_alert(uid)

    async def snooze_alert(self, external_alert_id: str, days: int) -> None:
        raise ProviderConfigError("NinjaOne has no snooze for alerts: resolve it, or use a maintenance window")

    async def on_disconnect(self) -> None:
        """Best effort: stop NinjaOne's deliveries (the local secret is deleted regardless)."""
        try:
            await self.client.request("DELETE", "/webhook", attempts=2)
        except ProviderError:
            pass


def _last_activity_id(body: Any, default: int) -> int:
    if isinstance(body, dict):
        last = body.get("lastActivityId")
        if isinstance(last, int):
            return last
        ids = [r.get("id") for r in body.get("activities") or [] if isinstance(r, dict)]
        ids = [i for i in ids if isinstance(i, int)]
        if ids:
            return max(ids)
    return default


def _org_id(scope: RemoteScope) -> int:
    raw = str(scope.external_id).strip()
    if not raw.isdigit():
        raise ProviderConfigError(f"'{scope.external_id}' is not a NinjaOne organization id")
    return int(raw)
