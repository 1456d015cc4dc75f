"""The Tanium provider over HTTP against the simulator: configuration, auth and permission failures,
GraphQL errors in a 200, cursor walks (many pages, expired cursors, walk faults), retries, slow pages,
the owner rule, single-endpoint refresh, software and the Asset API (paging and the fallback)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from rmmbridge.kit.http import HttpClientFactory, RoutedTransport
from rmmbridge.providers.base import (
    DevicePage,
    ProviderAuthError,
    ProviderConfigError,
    ProviderContext,
    ProviderError,
    ProviderIncompleteError,
    ProviderRetriableError,
    RemoteScope,
)
from rmmbridge.providers.tanium import TaniumConfig, TaniumProvider, normalize_instance_url_with_note
from rmmbridge.providers.tanium.asset_api import AssetWalk
from rmmbridge.providers.tanium.gateway import MEMBERSHIP_DOC, GatewayQueryError, GatewaySchemaError
from rmmbridge.providers.tanium.normalize import owner_group
from rmmbridge.providers.tanium.pagination import MAX_RESUMES, CursorWalk
from rmmbridge.simulators.faults import Fault, FaultPlan
from rmmbridge.simulators.tanium import (
    ALL_COMPUTERS_ID,
    DEFAULT_TOKEN,
    GATEWAY_PATH,
    TaniumFleet,
    TaniumSimulator,
    create_app,
    generate_fleet,
)

NOW = datetime(2026, 4, 14, 17, 0, tzinfo=UTC)
BUILTIN = {ALL_COMPUTERS_ID, "2", "3", "4"}
WALK_FAULTS = ["short_listing", "repeated_cursor", "null_cursor", "total_drift", "duplicate_eid"]


@dataclass
class Env:
    provider: TaniumProvider
    fleet: TaniumFleet
    sim: TaniumSimulator
    plan: FaultPlan
    host: str
    transport: RoutedTransport
    sleeps: list[float]

    def settings(self, **values: Any) -> None:
        self.provider.ctx.settings = {**self.provider.ctx.settings, **values}

    def other(self, **config: Any) -> TaniumProvider:
        """Another provider instance on the same simulator (a fresh per-run instance)."""
        return _provider(self.host, self.transport, dict(self.provider.ctx.settings), self.sleeps, **config)


def _provider(
    host: str, transport: RoutedTransport, settings: dict[str, Any], sleeps: list[float], **config: Any
) -> TaniumProvider:
    async def save(values: dict[str, str]) -> None:
        return None

    ctx = ProviderContext(uuid.uuid4(), uuid.uuid4(), settings, HttpClientFactory(transport), lambda: NOW, save)
    values = {"instance_url": f"https://{host}", "api_token": DEFAULT_TOKEN, **config}
    provider = TaniumProvider(TaniumConfig(**values), ctx)

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    provider.http.sleep = no_sleep
    return provider


def make_env(
    *, endpoints: int = 120, groups: int = 4, seed: int = 7, app_kwargs: dict[str, Any] | None = None, **config: Any
) -> Env:
    fleet = generate_fleet(seed=seed, groups=groups, endpoints=endpoints, now=NOW)
    plan = FaultPlan()
    app = create_app(fleet, faults=plan, clock=lambda: NOW, **(app_kwargs or {}))
    host = f"t{uuid.uuid4().hex[:8]}-api.cloud.tanium.com"
    transport = RoutedTransport({host: app})
    sleeps: list[float] = []
    provider = _provider(host, transport, {}, sleeps, **config)
    return Env(provider, fleet, app.state.sim, plan, host, transport, sleeps)


@pytest.fixture
async def env():  # type: ignore[no-untyped-def]
    e = make_env(page_size=9)
    yield e
    await e.provider.aclose()


def customer_groups(fleet: TaniumFleet) -> list[str]:
    return [g for g in fleet.groups if g not in BUILTIN]


def scope(fleet: TaniumFleet, gid: str) -> RemoteScope:
    return RemoteScope(gid, fleet.groups[gid].name, kind="computer_group")


async def drain(provider: TaniumProvider, sc: RemoteScope, each: Callable[[DevicePage], None] | None = None) -> list:
    out = []
    async for page in provider.iter_device_pages(sc):
        if each is not None:
            each(page)
        out.extend(page.snapshots)
    return out


# ----------------------------------------------------------------------------- configuration


def test_token_must_carry_its_prefix() -> None:
    ok = TaniumConfig(instance_url="https://x-api.cloud.tanium.com", api_token="  TOKEN-abc123  ")
    assert ok.api_token.get_secret_value() == "TOKEN-abc123"
    for bad, words in (
        ("abc123", "must start with 'token-'"),
        ("token-", "must start with 'token-'"),
        ("token-abc def", "spaces"),
        ("", "Enter the Tanium API token"),
    ):
        with pytest.raises(ValidationError) as info:
            TaniumConfig(instance_url="https://x-api.cloud.tanium.com", api_token=bad)
        assert words in str(info.value)
    with pytest.raises(ValidationError, match="api_token"):
        TaniumConfig(instance_url="https://x-api.cloud.tanium.com")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("raw", "url", "rewritten"),
    [
        ("acme.cloud.tanium.com", "https://acme-api.cloud.tanium.com", True),
        ("https://acme.cloud.tanium.com/#/home?x=1", "https://acme-api.cloud.tanium.com", True),
        (
            "https://acme-api.cloud.tanium.com/plugin/products/gateway/graphql",
            "https://acme-api.cloud.tanium.com",
            False,
        ),
        ("https://TANIUM.corp.local:8443/console", "https://tanium.corp.local:8443", False),
        ("https://tanium.corp.local:443/", "https://tanium.corp.local", False),
    ],
)
def test_host_normalisation(raw: str, url: str, rewritten: bool) -> None:
    result = normalize_instance_url_with_note(raw)
    assert result.url == url
    assert (result.note is not None) == rewritten
    assert TaniumConfig(instance_url=raw, api_token=DEFAULT_TOKEN).instance_url == url


def test_insecure_and_invalid_urls() -> None:
    with pytest.raises(ValidationError, match="in clear"):
        TaniumConfig(instance_url="http://tanium.local", api_token=DEFAULT_TOKEN)
    insecure = TaniumConfig(instance_url="http://tanium.local", api_token=DEFAULT_TOKEN, allow_insecure_url=True)
    assert insecure.instance_url == "http://tanium.local"
    # The operator's policy wins over the integration's checkbox (as for every provider).
    with pytest.raises(ValidationError, match="RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS"):
        TaniumConfig.model_validate(
            {"instance_url": "http://tanium.local", "api_token": DEFAULT_TOKEN, "allow_insecure_url": True},
            context={"allow_insecure_provider_urls": False},
        )
    for bad in ("", "ftp://x", "https://169.254.169.254", "https://user:pw@x.example"):
        with pytest.raises(ValidationError):
            TaniumConfig(instance_url=bad, api_token=DEFAULT_TOKEN)
    with pytest.raises(ValidationError, match="overdue_after_minutes"):
        TaniumConfig(
            instance_url="https://x", api_token=DEFAULT_TOKEN, offline_after_minutes=60, overdue_after_minutes=30
        )


# ----------------------------------------------------------------------------- connection test and auth


async def test_connection_checks_in_order(env: Env) -> None:
    checks = await env.provider.test_connection()
    assert [c.name for c in checks] == [
        "Host reachable",
        "Gateway answers GraphQL",
        "API token valid",
        "Can read computer groups",
        "Can read endpoints",
        "Optional Tanium content",
        "Token expiry",
    ]
    assert all(c.ok and not c.warning for c in checks), checks
    assert f"{len(env.fleet.endpoints)} endpoints" in checks[4].message
    assert "7 days" in checks[6].message


async def test_connection_with_asset_fallback_checks_the_asset_api(env: Env) -> None:
    provider = env.other(asset_api_fallback=True)
    try:
        checks = await provider.test_connection()
        assert checks[-1].name == "Asset API" and checks[-1].ok
        env.sim.modes.asset_installed = False
        failed = (await provider.test_connection())[-1]
        assert failed.name == "Asset API" and not failed.ok
        assert "Asset module" in failed.message and "fallback" in (failed.fix or "")
    finally:
        await provider.aclose()


@pytest.mark.parametrize("token", ["token-not-a-real-token", "token-" + "x" * 40])
async def test_invalid_token(env: Env, token: str) -> None:
    bad = env.other(api_token=token)
    try:
        checks = await bad.test_connection()
        assert [c.ok for c in checks] == [True, True, False]
        assert checks[-1].name == "API token valid"
        assert "trusted IP" in checks[-1].message and "invalid session" in checks[-1].message
        assert token not in checks[-1].message
        with pytest.raises(ProviderAuthError):
            await bad.list_scopes()
    finally:
        await bad.aclose()


async def test_expired_token_and_expiry_warning() -> None:
    e = make_env(app_kwargs={"token_expires_in_days": 2})
    try:
        expiry = (await e.provider.test_connection())[-1]
        assert expiry.name == "Token expiry" and expiry.ok and expiry.warning
        assert "expires in 2.0 days" in expiry.message
        e.sim.advance(timedelta(days=2, seconds=5).total_seconds())
        with pytest.raises(ProviderAuthError, match="expired"):
            await e.provider.list_scopes()
    finally:
        await e.provider.aclose()


async def test_prefixless_token_is_refused_by_tanium_too(env: Env) -> None:
    # The config refuses it (above); a token that slipped through anyway is an auth error, not a crash.
    cfg = TaniumConfig.model_construct(
        **{**env.provider.cfg.model_dump(), "api_token": SecretStr(DEFAULT_TOKEN.removeprefix("token-"))}
    )
    provider = TaniumProvider(cfg, env.provider.ctx)
    try:
        with pytest.raises(ProviderAuthError, match="not an API token"):
            await provider.list_scopes()
    finally:
        await provider.aclose()


async def test_missing_gateway_permission(env: Env) -> None:
    env.sim.modes.gateway_permission = False
    checks = await env.provider.test_connection()
    assert [c.ok for c in checks] == [True, True, False]
    assert "permission" in checks[-1].message and "persona" in (checks[-1].fix or "")
    with pytest.raises(ProviderConfigError, match="Gateway permission"):
        await env.provider.list_scopes()


async def test_persona_without_endpoints_is_a_warning(env: Env) -> None:
    env.sim.add_persona("Nobody", [])
    token = env.sim.tokens.grant(NOW, expires_in_days=7, notes="", persona="Nobody").token_string
    scoped = env.other(api_token=token)
    try:
        checks = await scoped.test_connection()
        endpoints = next(c for c in checks if c.name == "Can read endpoints")
        assert endpoints.ok and endpoints.warning and "management groups" in (endpoints.fix or "")
    finally:
        await scoped.aclose()


@pytest.mark.parametrize("mode", ["redirect", "html"])
async def test_console_host(env: Env, mode: str) -> None:
    env.sim.modes.console_host = mode
    checks = await env.provider.test_connection()
    assert [c.name for c in checks] == ["Host reachable", "Gateway answers GraphQL"]
    assert not checks[-1].ok and "-api.cloud.tanium.com" in checks[-1].message
    with pytest.raises(ProviderConfigError, match="Console"):
        await env.provider.list_scopes()


async def test_gateway_not_installed(env: Env) -> None:
    env.sim.modes.gateway_installed = False
    checks = await env.provider.test_connection()
    assert not checks[-1].ok and "not installed" in checks[-1].message
    with pytest.raises(ProviderConfigError, match="404"):
        await env.provider.list_scopes()


async def test_unreachable_host() -> None:
    transport = RoutedTransport()
    provider = _provider("unreachable.invalid", transport, {}, [])
    try:
        checks = await provider.test_connection()
        assert [(c.name, c.ok) for c in checks] == [("Host reachable", False)]
        assert "Cannot reach" in checks[0].message
    finally:
        await provider.aclose()


# ----------------------------------------------------------------------------- GraphQL errors in a 200


async def test_validation_error_is_a_schema_error(env: Env) -> None:
    with pytest.raises(GatewaySchemaError, match="eid") as info:
        await env.provider.gateway.query("{ endpoints(first: 1) { edges { node { id eid } } } }")
    assert isinstance(info.value, ProviderConfigError)


async def test_execution_error_on_a_first_page_is_raised_as_is() -> None:
    e = make_env(app_kwargs={"max_page_size": 5}, page_size=50)
    e.sim.modes.page_size_overflow = "error"
    try:
        with pytest.raises(GatewayQueryError, match="must not exceed 5"):
            await drain(e.provider, scope(e.fleet, customer_groups(e.fleet)[0]))
    finally:
        await e.provider.aclose()


async def test_silently_clamped_page_size_still_walks_completely() -> None:
    e = make_env(app_kwargs={"max_page_size": 4}, page_size=50)
    try:
        gid = e.fleet.customer_group_ids[0]
        e.settings(mapped_scope_ids=[gid])
        snaps = await drain(e.provider, scope(e.fleet, gid))
        assert sorted(s.external_id for s in snaps) == sorted(e.fleet.group_members(gid))
    finally:
        await e.provider.aclose()


# ----------------------------------------------------------------------------- scopes and walks


async def test_list_scopes(env: Env) -> None:
    scopes = await env.provider.list_scopes()
    assert [s.external_id for s in scopes] == list(env.fleet.groups)
    assert all(s.kind == "computer_group" and s.name for s in scopes)
    counts = {s.external_id: s.device_count for s in scopes}
    assert counts == {g: len(env.fleet.group_members(g)) for g in env.fleet.groups}
    manual = next(s for s in scopes if s.external_id == env.fleet.manual_group_id)
    assert manual.attributes["type"] == "MANUAL"


async def test_many_pages_with_total_records() -> None:
    e = make_env(endpoints=400, page_size=7)
    try:
        walk = CursorWalk(
            e.provider.gateway, MEMBERSHIP_DOC, "RmmbridgeTaniumMembership", variables={"filter": None}, page_size=7
        )
        ids = [n["id"] async for page in walk.pages() for n in page]
        assert ids == list(e.fleet.endpoints) and walk.total == 400
        assert walk.pages_read == math.ceil(400 / 7) and walk.restarts == 0

        gid = ALL_COMPUTERS_ID
        e.settings(mapped_scope_ids=[gid])
        totals: list[int | None] = []
        snaps = await drain(e.provider, scope(e.fleet, gid), lambda p: totals.append(p.total))
        assert [s.external_id for s in snaps] == list(e.fleet.endpoints)
        assert set(totals) == {400} and len(totals) == math.ceil(400 / 7)
    finally:
        await e.provider.aclose()


async def test_expired_cursor_restarts_cleanly(env: Env) -> None:
    gid = ALL_COMPUTERS_ID
    env.settings(mapped_scope_ids=[gid])
    pages = 0

    def expire_after_second_page(_page: DevicePage) -> None:
        nonlocal pages
        pages += 1
        if pages == 2:
            env.sim.cursors.expire_all()

    snaps = await drain(env.provider, scope(env.fleet, gid), expire_after_second_page)
    ids = [s.external_id for s in snaps]
    assert len(ids) == len(set(ids)) == len(env.fleet.endpoints)  # complete, nothing handed out twice
    assert set(ids) == set(env.fleet.endpoints)


async def test_cursor_expiry_by_time_and_data_null_variant(env: Env) -> None:
    env.sim.modes.cursor_error_data_null = True
    walk = CursorWalk(
        env.provider.gateway, MEMBERSHIP_DOC, "RmmbridgeTaniumMembership", variables={"filter": None}, page_size=10
    )
    ids: list[str] = []
    async for page in walk.pages():
        ids.extend(n["id"] for n in page)
        if walk.resumes == 0 and len(ids) >= 20:
            env.sim.advance(env.sim.cursors.ttl.total_seconds() + 1)  # the consumer stalled > 5 minutes
    # resumed after the last id handed out (a new collection), not restarted from scratch
    assert (walk.resumes, walk.restarts) == (1, 0)
    assert sorted(ids) == sorted(env.fleet.endpoints) and len(ids) == len(set(ids))


async def test_restarts_are_bounded(env: Env) -> None:
    walk = CursorWalk(
        env.provider.gateway, MEMBERSHIP_DOC, "RmmbridgeTaniumMembership", variables={"filter": None}, page_size=10
    )
    with pytest.raises(ProviderIncompleteError, match="cursor may have expired") as info:
        async for _page in walk.pages():
            env.sim.cursors.expire_all()
    # every resume made progress, but a walk that needs more than MAX_RESUMES collections is broken
    assert walk.resumes == MAX_RESUMES and walk.restarts == 1 and "restart" in info.value.message


@pytest.mark.parametrize("fault", WALK_FAULTS)
async def test_walk_faults_never_give_a_short_list(env: Env, fault: str) -> None:
    gid = ALL_COMPUTERS_ID
    env.settings(mapped_scope_ids=[gid])
    env.sim.modes.update({"walk_fault": fault})
    listed: list[str] = []
    with pytest.raises(ProviderIncompleteError) as info:
        for s in await drain(env.provider, scope(env.fleet, gid)):
            listed.append(s.external_id)
    assert listed == []  # the listing never ended "successfully"
    assert "incomplete" in info.value.message and info.value.cause


@pytest.mark.parametrize("fault", WALK_FAULTS)
async def test_a_single_walk_fault_is_survived_by_one_restart(env: Env, fault: str) -> None:
    gid = ALL_COMPUTERS_ID
    env.settings(mapped_scope_ids=[gid])
    env.sim.modes.update({"walk_fault": fault, "walk_fault_times": 1})
    ids = [s.external_id for s in await drain(env.provider, scope(env.fleet, gid))]
    assert len(ids) == len(set(ids)) and set(ids) == set(env.fleet.endpoints)


async def test_token_revoked_mid_walk_is_an_auth_error(env: Env) -> None:
    gid = ALL_COMPUTERS_ID
    env.settings(mapped_scope_ids=[gid])
    pages: list[DevicePage] = []

    def revoke_after_first_page(page: DevicePage) -> None:
        pages.append(page)
        if len(pages) == 1:
            env.plan.add(Fault("expire_token", query_contains="operationName=RmmbridgeTaniumEndpoints"))

    with pytest.raises(ProviderAuthError, match="expired"):
        await drain(env.provider, scope(env.fleet, gid), revoke_after_first_page)
    assert 1 <= len(pages) < math.ceil(len(env.fleet.endpoints) / 9)  # no restart hides an auth failure


# ----------------------------------------------------------------------------- retries and slow pages


async def test_429_and_5xx_are_retried(env: Env) -> None:
    gid = ALL_COMPUTERS_ID
    env.settings(mapped_scope_ids=[gid])
    env.plan.add(Fault("rate_limit", path_contains=GATEWAY_PATH, retry_after_s=2, times=2))
    env.plan.add(Fault("status", status=503, path_contains=GATEWAY_PATH, times=1))
    env.plan.add(Fault("status", status=502, path_contains=GATEWAY_PATH, times=1))
    snaps = await drain(env.provider, scope(env.fleet, gid))
    assert {s.external_id for s in snaps} == set(env.fleet.endpoints)
    assert env.sleeps.count(2.0) == 2  # Retry-After honoured


async def test_persistent_server_errors_are_retriable(env: Env) -> None:
    env.plan.add(Fault("status", status=500, path_contains=GATEWAY_PATH))
    with pytest.raises(ProviderRetriableError, match="System User service"):
        await env.provider.list_scopes()
    assert len(env.sleeps) == env.provider.http.retry_policy.attempts - 1


async def test_non_json_answers_are_retried_then_retriable(env: Env) -> None:
    env.plan.add(Fault("malformed", path_contains=GATEWAY_PATH, times=2))
    env.plan.add(Fault("truncate", path_contains=GATEWAY_PATH, times=1))
    assert len(await env.provider.list_scopes()) == len(env.fleet.groups)
    env.plan.add(Fault("malformed", path_contains=GATEWAY_PATH))
    with pytest.raises(ProviderRetriableError, match="non-JSON"):
        await env.provider.list_scopes()


async def test_slow_pages(env: Env) -> None:
    gid = ALL_COMPUTERS_ID
    env.settings(mapped_scope_ids=[gid])
    # Slow but within the deadline: the walk just takes longer.
    env.plan.add(Fault("slow", delay_s=0.05, query_contains="operationName=RmmbridgeTaniumEndpoints", times=3))
    assert len(await drain(env.provider, scope(env.fleet, gid))) == len(env.fleet.endpoints)
    # Slower than the client's deadline: that attempt times out and is retried.
    env.provider.http.deadline_s = 0.1
    env.plan.add(Fault("slow", delay_s=0.5, query_contains="operationName=RmmbridgeTaniumEndpoints", times=1))
    assert len(await drain(env.provider, scope(env.fleet, gid))) == len(env.fleet.endpoints)
    # Always too slow: retriable, never a short list.
    env.plan.add(Fault("slow", delay_s=0.5, query_contains="operationName=RmmbridgeTaniumEndpoints"))
    with pytest.raises(ProviderRetriableError, match=r"not answer in time \(ReadTimeout: no complete answer"):
        await drain(env.provider, scope(env.fleet, gid))


# ----------------------------------------------------------------------------- owner rule over HTTP


async def _realms(provider: TaniumProvider, fleet: TaniumFleet, mapped: list[str]) -> dict[str, set[str]]:
    realms: dict[str, set[str]] = {}
    for gid in mapped:
        listed = [s for s in await drain(provider, scope(fleet, gid))]
        assert len({s.external_id for s in listed}) == len(listed)  # no device twice within a group
        for s in listed:
            realms.setdefault(s.external_id, set()).add(s.realm_id)
    return realms


@pytest.mark.parametrize("server_side", [True, False])
async def test_overlapping_groups_have_one_stable_owner(server_side: bool) -> None:
    e = make_env(endpoints=300, groups=6, page_size=25, exclude_owned_server_side=server_side)
    try:
        fleet = e.fleet
        mapped = customer_groups(fleet)
        assert fleet.overlapping_endpoints()
        e.settings(mapped_scope_ids=sorted(mapped))  # bytewise order, as the framework sorts
        first = await _realms(e.provider, fleet, mapped)
        expected = {
            eid: owner_group(ep.groups, mapped) for eid, ep in fleet.endpoints.items() if ep.groups & set(mapped)
        }
        assert {k: next(iter(v)) for k, v in first.items()} == expected
        assert all(len(v) == 1 for v in first.values())
        overlapping = [eid for eid in fleet.overlapping_endpoints() if eid in expected]
        assert overlapping and all(len(fleet.endpoints[e_].groups & set(mapped)) > 1 for e_ in overlapping)

        # A second run, with groups answered in another order and the mapping list reversed.
        fleet.groups = dict(reversed(list(fleet.groups.items())))
        again = e.other(exclude_owned_server_side=server_side)
        again.ctx.settings = {"mapped_scope_ids": list(reversed(mapped))}
        try:
            second = await _realms(again, fleet, list(reversed(mapped)))
        finally:
            await again.aclose()
        assert second == first
    finally:
        await e.provider.aclose()


async def test_priorities_move_the_owner() -> None:
    e = make_env(endpoints=200, groups=4, page_size=50)
    try:
        fleet = e.fleet
        customer, servers = fleet.customer_group_ids[0], fleet.servers_group_ids[0]
        e.settings(mapped_scope_ids=[customer, servers])
        default = await _realms(e.provider, fleet, [customer, servers])
        server_eids = set(fleet.group_members(servers))
        assert server_eids and all(default[eid] == {customer} for eid in server_eids)  # lower id wins
        preferred = e.other(group_priorities={servers: 1})
        preferred.ctx.settings = {"mapped_scope_ids": [customer, servers]}
        try:
            moved = await _realms(preferred, fleet, [customer, servers])
        finally:
            await preferred.aclose()
        assert all(moved[eid] == {servers} for eid in server_eids)
        assert set(moved) == set(default)
    finally:
        await e.provider.aclose()


async def test_without_mapped_ids_every_group_is_a_candidate(env: Env) -> None:
    gid = env.fleet.customer_group_ids[1]
    snaps = await drain(env.provider, scope(env.fleet, gid))
    assert snaps == []  # "All Computers" (id 1) owns every endpoint and is walked on its own
    all_snaps = await drain(env.provider, scope(env.fleet, ALL_COMPUTERS_ID))
    assert {s.realm_id for s in all_snaps} == {ALL_COMPUTERS_ID}


async def test_fetch_device_matches_the_listing(env: Env) -> None:
    mapped = customer_groups(env.fleet)
    env.settings(mapped_scope_ids=mapped)
    listed = {s.external_id: s for gid in mapped for s in await drain(env.provider, scope(env.fleet, gid))}
    overlapping = [eid for eid in env.fleet.overlapping_endpoints() if eid in listed]
    for eid in [*overlapping[:3], next(iter(listed))]:
        fetched = await env.provider.fetch_device(eid)
        assert fetched == listed[eid]
    assert await env.provider.fetch_device("999999") is None
    assert await env.provider.fetch_device("") is None
    outside = next(eid for eid, ep in env.fleet.endpoints.items() if not ep.groups & set(mapped))
    assert (await env.provider.fetch_device(outside)).realm_id == ""  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- software


async def test_software_streams_one_endpoint_at_a_time(env: Env) -> None:
    from rmmbridge.simulators.tanium import installed_applications

    devices = [d async for d in env.provider.iter_software()]
    assert [d.external_id for d in devices] == list(env.fleet.endpoints)
    for device in devices[:40]:
        ep = env.fleet.endpoints[device.external_id]
        assert device.external_ref == ep.computer_id
        expected = {(a.name, a.version) for a in installed_applications(ep) if a.name}
        assert {(s.name, s.version) for s in device.software} == expected
        assert all(s.publisher == "" for s in device.software)
        assert len(device.software) == len({(s.name.lower(), s.version) for s in device.software})
    gid = env.fleet.customer_group_ids[0]
    env.settings(mapped_scope_ids=[gid])
    assert {d.external_id async for d in env.provider.iter_software()} == set(env.fleet.group_members(gid))
    quiet = env.other(include_software=False)
    try:
        assert [d async for d in quiet.iter_software()] == []
    finally:
        await quiet.aclose()


async def test_software_walk_fault_raises(env: Env) -> None:
    env.sim.modes.update({"walk_fault": "short_listing"})
    provider = env.other(software_page_size=10)
    seen: list[str] = []
    try:
        with pytest.raises(ProviderIncompleteError):
            async for device in provider.iter_software():
                seen.append(device.external_id)
    finally:
        await provider.aclose()
    assert len(seen) == len(set(seen)) < len(env.fleet.endpoints)  # complete devices only, then the error


# ----------------------------------------------------------------------------- Asset API


async def test_asset_api_pages_to_end_of_reader(env: Env) -> None:
    walk = AssetWalk(env.provider.http, limit=7)
    ids = [row["id"] async for page in walk.pages() for row in page]
    assert ids == list(env.fleet.assets)
    assert walk.pages_read == math.ceil(len(ids) / 7)
    env.sim.modes.asset_installed = False
    with pytest.raises(ProviderConfigError, match="Asset module"):
        async for _ in AssetWalk(env.provider.http).pages():
            pass
    env.sim.modes.asset_installed = True
    env.sim.modes.asset_permission = False
    with pytest.raises(ProviderConfigError, match="Asset API rights"):
        async for _ in AssetWalk(env.provider.http).pages():
            pass


def _aged_group(e: Env) -> tuple[str, list[str]]:
    """A customer group whose every endpoint aged out of the Gateway (still Asset rows)."""
    gid = e.fleet.customer_group_ids[1]
    members = e.fleet.group_members(gid)
    for eid in members:
        e.fleet.age_out(eid, last_seen=NOW - timedelta(days=60))
    return gid, members


async def test_asset_fallback_matches_known_devices_only() -> None:
    e = make_env(endpoints=160, groups=4, page_size=50, asset_api_fallback=True)
    try:
        gid = e.fleet.customer_group_ids[1]
        e.settings(mapped_scope_ids=[gid])
        before = {s.external_id: s for s in await drain(e.provider, scope(e.fleet, gid))}
        known_rows = [
            {
                "external_id": s.external_id,
                "realm_id": s.realm_id,
                "external_ref": s.external_ref,
                "hardware_uuid": s.hardware_uuid,
                "serial_number": s.serial_number,
                "name": s.name,
                "last_seen_at": s.last_seen_at,
            }
            for s in before.values()
        ]
        asked: list[list[str]] = []

        async def known(realms: list[str]) -> list[dict[str, Any]]:
            asked.append(realms)
            return known_rows

        _, members = _aged_group(e)
        assert set(members) == set(before)
        run = e.other(asset_api_fallback=True)
        run.ctx.settings = {"mapped_scope_ids": [gid], "known_devices": known}
        try:
            pages: list[DevicePage] = [p async for p in run.iter_device_pages(scope(e.fleet, gid))]
        finally:
            await run.aclose()
        assert asked == [[gid]]
        snaps = [s for p in pages for s in p.snapshots]
        assert {s.external_id for s in snaps} == set(members)  # Asset rows matched back to their EIDs
        assert {s.realm_id for s in snaps} == {gid}
        for s in snaps:
            previous = before[s.external_id].last_seen_at
            aged = NOW - timedelta(days=60)
            assert s.last_seen_at == (max(previous, aged) if previous else aged)  # only ever forward
            assert s.external_ref == e.fleet.aged_out[s.external_id].computer_id
        legacy = {ep.name for ep in e.fleet.asset_only}
        assert not legacy & {s.name for s in snaps}  # Asset-only rows are never assigned
    finally:
        await e.provider.aclose()


async def test_asset_fallback_failures_are_incomplete_not_fatal() -> None:
    e = make_env(endpoints=120, groups=4, page_size=50, asset_api_fallback=True)
    try:
        gid, members = _aged_group(e)
        e.settings(mapped_scope_ids=[gid])
        # Not wired: nothing to match Asset rows against → the group is incomplete (nothing marked missing).
        with pytest.raises(ProviderIncompleteError, match="known devices"):
            await drain(e.provider, scope(e.fleet, gid))
        rows = [
            {"external_id": eid, "realm_id": gid, "external_ref": e.fleet.aged_out[eid].computer_id} for eid in members
        ]
        e.settings(known_devices=rows)
        assert {s.external_id for s in await drain(e.provider, scope(e.fleet, gid))} == set(members)
        # The Asset module is gone: the fallback fails this group only, with the cause.
        e.sim.modes.asset_installed = False
        broken = e.other(asset_api_fallback=True)
        try:
            with pytest.raises(ProviderIncompleteError, match="Asset module") as info:
                await drain(broken, scope(e.fleet, gid))
            assert not isinstance(info.value, ProviderConfigError)
        finally:
            await broken.aclose()
        # A vanished group never pulls Asset records into its client.
        e.sim.modes.asset_installed = True
        gone = scope(e.fleet, gid)
        e.fleet.remove_group(gid)
        again = e.other(asset_api_fallback=True)
        try:
            assert await drain(again, gone) == []
        finally:
            await again.aclose()
    finally:
        await e.provider.aclose()


async def test_fallback_is_off_by_default(env: Env) -> None:
    gid, _ = _aged_group(env)
    env.settings(mapped_scope_ids=[gid], known_devices=[{"external_id": "1", "realm_id": gid}])
    assert await drain(env.provider, scope(env.fleet, gid)) == []


async def test_errors_are_provider_errors(env: Env) -> None:
    assert issubclass(GatewayQueryError, ProviderError) and issubclass(GatewaySchemaError, ProviderConfigError)
