"""The Tactical provider over HTTP against the simulator: URLs, preflight, auth, faults, pagination,
alerts and streamed software."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from rmmbridge.providers.base import (
    ProviderAuthError,
    ProviderConfigError,
    ProviderIncompleteError,
    ProviderReauthRequired,
    ProviderRetriableError,
    ProviderTotpRequired,
    RemoteScope,
)
from rmmbridge.providers.tacticalrmm import TacticalConfig, normalize_instance_url
from rmmbridge.providers.tacticalrmm.client import HEAVY_TIMEOUT
from rmmbridge.simulators.faults import Fault
from rmmbridge.simulators.tacticalrmm import (
    DEFAULT_CREDENTIALS,
    ApiKey,
    Role,
    TacticalUser,
    create_app,
    default_users,
    generate_fleet,
    totp,
)

from . import NOW, Clock, make_provider

CREDS = DEFAULT_CREDENTIALS
ALL_CHECKS = ["Reachable", "API host, not dashboard", "Host accepted", "Credentials", "Beta API enabled",
              "Permissions", "Visibility"]  # fmt: skip


def users_and_keys() -> tuple[list[TacticalUser], list[ApiKey]]:
    users = [
        *default_users(),
        TacticalUser(
            "nosoftware",
            "x",
            role=Role(can_list_clients=True, can_list_sites=True, can_list_agents=True, can_list_alerts=True),
        ),
        TacticalUser(
            "noalerts",
            "x",
            role=Role(can_list_clients=True, can_list_sites=True, can_list_agents=True, can_list_software=True),
        ),
        *(TacticalUser(f"restricted{c}", "x", role=Role.read_only(clients={c})) for c in (1, 2, 3)),
        TacticalUser("gone", "x", is_active=False, is_superuser=True),
    ]
    keys = [
        ApiKey("NOSOFTWAREKEY0000000000000000000", "nosoftware"),
        ApiKey("NOALERTSKEY000000000000000000000", "noalerts"),
        *(ApiKey(f"RESTRICTEDKEY{c}000000000000000000", f"restricted{c}") for c in (1, 2, 3)),
        ApiKey("INACTIVEKEY000000000000000000000", "gone"),
        ApiKey("EXPIREDKEY0000000000000000000000", "api", expiration=NOW - timedelta(days=1)),
    ]
    return users, keys


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fleet() -> Any:
    return generate_fleet(seed=5, clients=3, agents=60, sites_per_client=2, now=NOW)


def sim(fleet: Any, clock: Clock, **kwargs: Any) -> Any:
    users, keys = users_and_keys()
    kwargs.setdefault("login_rate_per_minute", 1000)
    return create_app(fleet, clock=clock, users=users, api_keys=keys, **kwargs)


@pytest.fixture
def app(fleet: Any, clock: Clock) -> Any:
    return sim(fleet, clock)


async def all_devices(provider: Any) -> dict[str, Any]:
    found = {}
    for scope in await provider.list_scopes():
        async for page in provider.iter_device_pages(scope):
            for snap in page.snapshots:
                found[snap.external_id] = snap
    return found


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("api.example.com", "https://api.example.com"),
        ("  https://API.Example.COM/  ", "https://api.example.com"),
        ("https://api.example.com/api", "https://api.example.com"),
        ("https://api.example.com/api/", "https://api.example.com"),
        ("https://api.example.com/beta/v1/", "https://api.example.com"),
        ("https://api.example.com/beta", "https://api.example.com"),
        ("https://api.example.com//beta/v1//", "https://api.example.com"),
        ("https://rmm-gw.example.com:8443/tactical", "https://rmm-gw.example.com:8443/tactical"),
        ("https://rmm-gw.example.com:8443/tactical/beta/v1/", "https://rmm-gw.example.com:8443/tactical"),
        ("https://api.example.com/?x=1#frag", "https://api.example.com"),
        ("https://bücher.example/", "https://xn--bcher-kva.example"),
        ("https://[2001:db8::1]:8443/", "https://[2001:db8::1]:8443"),
        ("api.example.com:8443", "https://api.example.com:8443"),
    ],
)
def test_url_normalisation(raw: str, expected: str) -> None:
    assert normalize_instance_url(raw) == expected
    assert TacticalConfig(instance_url=raw, api_key="K").instance_url == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "Enter the Tactical API address, e.g. https://api.example.com"),
        ("   ", "Enter the Tactical API address"),
        ("ftp://api.example.com", "must start with https://"),
        ("https://admin:secret@api.example.com", "Remove the user name and password"),
        ("https://169.254.169.254/", "link-local or metadata"),
        ("https://[fe80::1]/", "link-local or metadata"),
        ("https://metadata.google.internal/", "metadata host"),
        ("https://api.example.com:99999/", "not a valid URL"),
        ("http://api.example.com", "http:// would send the Tactical credentials in clear"),
    ],
)
def test_url_rejections(raw: str, reason: str) -> None:
    with pytest.raises(ValidationError) as info:
        TacticalConfig(instance_url=raw, api_key="K")
    error = info.value.errors()[0]
    assert reason in error["msg"] and error["loc"] == ("instance_url",)


def test_http_only_when_allowed() -> None:
    assert TacticalConfig(instance_url="http://10.0.0.5:8000", api_key="K", allow_insecure_url=True).instance_url == (
        "http://10.0.0.5:8000"
    )
    # The operator's policy wins; when it allows http://, the integration still opts in itself.
    allowed, forbidden = {"allow_insecure_provider_urls": True}, {"allow_insecure_provider_urls": False}
    opted = {"instance_url": "http://x.example", "api_key": "K", "allow_insecure_url": True}
    assert TacticalConfig.model_validate(opted, context=allowed).instance_url == "http://x.example"
    with pytest.raises(ValidationError, match="RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS=true"):
        TacticalConfig.model_validate(opted, context=forbidden)
    with pytest.raises(ValidationError, match="Allow an http:// address"):
        TacticalConfig.model_validate({**opted, "allow_insecure_url": False}, context=allowed)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"auth_mode": "api_key"}, "Enter the Tactical API key"),
        ({"auth_mode": "password", "password": "p"}, "user name"),
        ({"auth_mode": "password", "username": "u"}, "password"),
        ({"auth_mode": "sso", "api_key": "K"}, "api_key"),
        ({"api_key": "K", "page_size": 5000}, "1000"),
    ],
)
def test_config_requires_the_fields_of_its_mode(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TacticalConfig(instance_url="https://api.example.com", **values)
    assert TacticalConfig.secret_fields() == {"api_key", "password", "token"}


def strip_prefix(app: Any, prefix: str) -> Any:
    """A reverse proxy serving ``app`` under ``prefix``."""

    async def proxy(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if not path.startswith(prefix + "/"):
                await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/html")]})
                await send({"type": "http.response.body", "body": b"<html>proxy 404</html>"})
                return
            scope = {**scope, "path": path[len(prefix) :], "raw_path": path[len(prefix) :].encode()}
        await app(scope, receive, send)

    return proxy


async def test_every_url_keeps_the_path_prefix_including_sign_in(fleet: Any, clock: Clock) -> None:
    app = sim(fleet, clock)
    made = make_provider(strip_prefix(app, "/tactical"), clock=clock, path="/tactical/beta/v1/",
                         auth_mode="password", username=CREDS.username, password=CREDS.password)  # fmt: skip
    p = made.provider
    assert p.client.base.endswith("/tactical")
    checks = await p.test_connection()
    assert [c.name for c in checks] == ALL_CHECKS and all(c.ok for c in checks), checks
    assert len(await all_devices(p)) == len(fleet.agents)
    paths = made.transport.paths()
    assert "/tactical/v2/checkcreds/" in paths
    assert all(path.startswith("/tactical/") and path.endswith("/") for path in paths), paths
    with pytest.raises(ValueError):
        p.client.url("/beta/v1/agent")  # no trailing slash: never built
    await p.aclose()


# --------------------------------------------------------------------------- preflight


async def test_connection_test_passes_with_named_checks_in_order(app: Any, clock: Clock) -> None:
    made = make_provider(app, clock=clock)
    checks = await made.provider.test_connection()
    assert [c.name for c in checks] == ALL_CHECKS
    assert all(c.ok and not c.warning for c in checks), checks
    get_root = made.transport.requests[0]
    assert get_root.url.path == "/" and "x-api-key" not in get_root.headers  # the probe sends no credentials
    await made.provider.aclose()


async def failed(made: Any) -> tuple[list[str], Any]:
    checks = await made.provider.test_connection()
    await made.provider.aclose()
    assert not checks[-1].ok and all(c.ok for c in checks[:-1]), checks
    assert checks[-1].fix
    return [c.name for c in checks], checks[-1]


async def test_dashboard_host(fleet: Any, clock: Clock) -> None:
    made = make_provider(sim(fleet, clock, mode="dashboard"), host="rmm.example.com", clock=clock)
    names, check = await failed(made)
    assert names == ALL_CHECKS[:2]
    assert check.message == (
        "https://rmm.example.com is the Tactical web dashboard, not its API. Use the API address — normally the "
        "same domain with `api.` instead of `rmm.` (e.g. https://api.example.com)."
    )


async def test_beta_api_disabled(fleet: Any, clock: Clock) -> None:
    names, check = await failed(make_provider(sim(fleet, clock, beta_api_enabled=False), clock=clock))
    assert names == ALL_CHECKS[:5]
    assert check.message == (
        "Tactical's Beta API is switched off on this server. Add `BETA_API_ENABLED = True` to the Tactical API's "
        "`local_settings.py` and restart the Tactical API service (`rmm.service`), then test again."
    )


async def test_host_not_allowed(fleet: Any, clock: Clock) -> None:
    app = sim(fleet, clock, allowed_hosts=["api.example.com"])
    names, check = await failed(make_provider(app, host="10.1.2.3", clock=clock))
    assert names == ALL_CHECKS[:3]
    assert check.message == (
        "Tactical rejected the host name 10.1.2.3. Use the exact API host name Tactical was installed with."
    )


async def test_wrong_path_prefix(app: Any, clock: Clock) -> None:
    made = make_provider(app, host="api.example.com", path="/tactical", clock=clock)
    names, check = await failed(made)
    assert names == ALL_CHECKS[:4]
    assert check.message == (
        "No Tactical API was found under https://api.example.com/tactical. Remove any path after the host name."
    )


class FailingTransport(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)


async def test_unreachable(app: Any) -> None:
    made = make_provider(app, host="api.nowhere.example", transport=FailingTransport())
    names, check = await failed(made)
    assert names == ["Reachable"]
    assert check.message == (
        "Cannot reach api.nowhere.example: [Errno -2] Name or service not known. Check the address and that "
        "rmmbridge can reach the server."
    )
    assert len(made.sleeps) == 3  # retried with backoff first


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("UNKNOWNKEY0000000000000000000000", "Tactical does not recognise this API key."),
        ("EXPIREDKEY0000000000000000000000",
         "This Tactical API key has expired; create a new key in Tactical (Settings → Global Settings → API Keys)."),
        ("INACTIVEKEY000000000000000000000", "The Tactical user that owns this API key is disabled."),
    ],
)  # fmt: skip
async def test_bad_api_keys(app: Any, clock: Clock, key: str, message: str) -> None:
    made = make_provider(app, clock=clock, api_key=key)
    names, check = await failed(made)
    assert names == ALL_CHECKS[:4] and check.message == message
    assert made.sleeps == []  # a 401 is never retried


async def test_missing_permissions(app: Any, clock: Clock) -> None:
    names, check = await failed(make_provider(app, clock=clock, api_key="NOSOFTWAREKEY0000000000000000000"))
    assert names == ALL_CHECKS[:6]
    assert check.message == (
        "The Tactical user behind this API key lacks the permission 'can_list_software' needed for software inventory."
    )
    names, check = await failed(make_provider(app, clock=clock, api_key="NOALERTSKEY000000000000000000000"))
    assert names == ALL_CHECKS[:6]  # credentials are fine (403 is JSON); the permission check names the flag
    assert check.message == (
        "The Tactical user behind this API key lacks the permission 'can_list_alerts' needed for alert polling."
    )


@pytest.mark.parametrize("client", [1, 2, 3])
async def test_restricted_role_passes_with_a_visibility_warning(
    app: Any, clock: Clock, fleet: Any, client: int
) -> None:
    # Whether or not the agent probed for software lies inside the role's client, the restriction is a
    # warning, never a "missing permission".
    made = make_provider(app, clock=clock, api_key=f"RESTRICTEDKEY{client}000000000000000000")
    checks = await made.provider.test_connection()
    assert [c.name for c in checks] == ALL_CHECKS and all(c.ok for c in checks), checks
    visibility = checks[-1]
    assert visibility.warning and "hides the alerts and software" in visibility.message
    other = next(c for c in fleet.clients.values() if c.id != client)
    assert other.name in visibility.message and visibility.fix
    await made.provider.aclose()


async def test_redirect_to_https_is_reported_not_followed(app: Any) -> None:
    async def redirector(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 301,
                "headers": [(b"location", b"https://api.example.com/"), (b"content-type", b"text/html")],
            }
        )
        await send({"type": "http.response.body", "body": b"<html>301</html>"})  # fmt: skip

    made = make_provider(redirector, scheme="http", host="api.example.com", allow_insecure_url=True)
    names, check = await failed(made)
    assert names == ALL_CHECKS[:2] and "use https://" in check.message


# --------------------------------------------------------------------------- auth


def knox(app: Any, clock: Clock, username: str = CREDS.username, password: str = CREDS.password, **kw: Any) -> Any:
    return make_provider(app, clock=clock, auth_mode="password", username=username, password=password, **kw)


async def test_api_key_mode_sends_exactly_one_auth_header(app: Any, clock: Clock) -> None:
    made = make_provider(app, clock=clock)
    await all_devices(made.provider)
    for request in made.transport.requests:
        assert request.headers["x-api-key"] and "authorization" not in request.headers
        assert request.headers["accept"] == "application/json"
    await made.provider.aclose()


async def test_knox_without_totp(app: Any, clock: Clock) -> None:
    made = knox(app, clock)
    checks = await made.provider.test_connection()
    assert all(c.ok for c in checks), checks
    assert "signed in as tactical" in checks[3].message
    token = made.saved["token"]
    assert token in app.auth.tokens and len(token) == 64
    assert made.saved["token_expiry"]
    assert "/v2/login/" not in made.transport.paths()  # never for a non-TOTP user (500 upstream)
    authed = [r for r in made.transport.requests if r.url.path not in ("/", "/v2/checkcreds/")]
    assert authed and all(
        r.headers["authorization"] == f"Token {token}" and "x-api-key" not in r.headers for r in authed
    )
    # The 180 s checkcreds token slid to 5 h on first use: that is what is stored now.
    assert made.provider.client.token_expiry > clock() + timedelta(hours=4)
    await made.provider.aclose()


async def test_knox_stored_token_is_reused(app: Any, clock: Clock) -> None:
    first = knox(app, clock)
    await first.provider.test_connection()
    second = knox(app, clock, token=first.saved["token"], token_expiry=first.saved["token_expiry"])
    await second.provider.list_scopes()
    assert "/v2/checkcreds/" not in second.transport.paths()


async def test_knox_with_totp(app: Any, clock: Clock) -> None:
    made = knox(app, clock, username=CREDS.totp_username, password=CREDS.totp_password)
    with pytest.raises(ProviderTotpRequired, match="one-time code"):
        await made.provider.test_connection()
    assert "/v2/login/" not in made.transport.paths()
    stale = totp(CREDS.totp_secret, clock(), offset_steps=-11)
    with pytest.raises(ProviderTotpRequired, match="not accept"):
        await made.provider.test_connection(totp_code=stale)
    code = totp(CREDS.totp_secret, clock())
    checks = await made.provider.test_connection(totp_code=code)
    assert all(c.ok for c in checks), checks
    logins = [r for r in made.transport.requests if r.url.path == "/v2/login/"]
    assert json.loads(logins[-1].content)["twofactor"] == code  # sent as a string
    assert made.saved["token"] in app.auth.tokens
    await made.provider.aclose()


async def test_non_totp_token_expiry_signs_in_again_once(app: Any, clock: Clock) -> None:
    made = knox(app, clock)
    await made.provider.test_connection()
    old = made.saved["token"]
    clock.advance(hours=6)  # unused for > 5 h: dead
    scopes = await made.provider.list_scopes()
    assert scopes and made.saved["token"] != old
    assert made.transport.paths().count("/v2/checkcreds/") == 2
    # An expire_token fault (token dies mid-run) is handled the same way.
    app.faults.add(Fault("expire_token", path_contains="/beta/v1/site/", times=1))
    assert len(await all_devices(made.provider)) == len(app.fleet.agents)
    assert made.transport.paths().count("/v2/checkcreds/") == 3
    await made.provider.aclose()


async def test_non_totp_relogin_failure_does_not_loop(app: Any, clock: Clock) -> None:
    made = knox(app, clock)
    await made.provider.test_connection()
    app.auth.users[CREDS.username].password = "changed-in-tactical"
    clock.advance(hours=6)
    for _ in range(3):
        with pytest.raises(ProviderAuthError, match="refused the user name or password"):
            await made.provider.list_scopes()
    assert made.transport.paths().count("/v2/checkcreds/") == 2  # one sign-in attempt, then it stops


async def test_totp_token_expiry_needs_reauth(app: Any, clock: Clock) -> None:
    made = knox(app, clock, username=CREDS.totp_username, password=CREDS.totp_password)
    await made.provider.test_connection(totp_code=totp(CREDS.totp_secret, clock()))
    clock.advance(hours=6)
    with pytest.raises(ProviderReauthRequired, match="Tactical sign-in required"):
        await made.provider.list_scopes()
    # A fresh instance with only the dead stored token learns the same without a code.
    again = knox(app, clock, username=CREDS.totp_username, password=CREDS.totp_password,
                 token=made.saved["token"])  # fmt: skip
    with pytest.raises(ProviderReauthRequired, match="Tactical sign-in required"):
        await again.provider.list_scopes()
    assert "/v2/login/" not in again.transport.paths()
    # ...and the connection test asks for a code instead.
    with pytest.raises(ProviderTotpRequired):
        await again.provider.test_connection()


async def test_keep_alive(app: Any, clock: Clock) -> None:
    made = knox(app, clock)
    await made.provider.test_connection()
    clock.advance(hours=3)
    made.saved.clear()
    expiry = await made.provider.keep_alive()
    assert expiry == clock() + timedelta(hours=5) - timedelta(minutes=10)
    assert made.saved["token_expiry"] == expiry.isoformat()
    last = made.transport.requests[-1]
    assert (last.method, last.url.path, json.loads(last.content)) == ("PATCH", "/alerts/", {"top": 0})
    clock.advance(hours=4)  # 7 h after sign-in, but kept alive: still valid
    assert await made.provider.list_scopes()
    assert made.transport.paths().count("/v2/checkcreds/") == 1

    key = make_provider(app, clock=clock)
    assert await key.provider.keep_alive() is None and key.transport.requests == []


async def test_logout_on_disconnect(app: Any, clock: Clock) -> None:
    made = knox(app, clock)
    await made.provider.test_connection()
    token = made.saved["token"]
    await made.provider.on_disconnect()
    assert token not in app.auth.tokens
    assert ("POST", "/logout/") in [(r.method, r.url.path) for r in made.transport.requests]


async def test_sign_in_throttle_is_honoured_not_looped(fleet: Any, clock: Clock) -> None:
    app = sim(fleet, clock, login_rate_per_minute=1)
    await knox(app, clock).provider.test_connection()
    made = knox(app, clock)
    with pytest.raises(ProviderRetriableError) as info:
        await made.provider.list_scopes()
    assert info.value.retry_after and info.value.retry_after > 0
    assert made.transport.paths().count("/v2/checkcreds/") == 1


# --------------------------------------------------------------------------- faults


async def test_html_500_on_a_page_makes_the_listing_incomplete(app: Any, clock: Clock, fleet: Any) -> None:
    made = make_provider(app, clock=clock, page_size=5)
    app.faults.add(Fault("status", status=500, path_contains="/beta/v1/agent/", query_contains="page=2"))
    scope = (await made.provider.list_scopes())[0]
    pages = []
    with pytest.raises(ProviderIncompleteError, match="page 2 failed") as info:
        async for page in made.provider.iter_device_pages(scope):
            pages.append(page)
    assert len(pages) == 1 and "Server Error (500)" in info.value.message
    attempts = [r for r in made.transport.requests if "page=2" in str(r.url)]
    assert len(attempts) == 4 and len(made.sleeps) == 3  # retried with backoff, then given up


async def test_transient_500_is_retried(app: Any, clock: Clock, fleet: Any) -> None:
    made = make_provider(app, clock=clock, page_size=5)
    app.faults.add(Fault("status", status=503, path_contains="/beta/v1/agent/", query_contains="page=2", times=2))
    assert len(await all_devices(made.provider)) == len(fleet.agents)
    assert len(made.sleeps) == 2


async def test_429_retry_after_is_honoured(app: Any, clock: Clock) -> None:
    made = make_provider(app, clock=clock)
    app.faults.add(Fault("rate_limit", retry_after_s=7, path_contains="/beta/v1/client/", times=1))
    assert await made.provider.list_scopes()
    assert made.sleeps == [7.0]
    app.faults.add(Fault("rate_limit", retry_after_s=3600, path_contains="/beta/v1/client/", times=1))
    with pytest.raises(ProviderRetriableError) as info:
        await made.provider.list_scopes()
    assert info.value.retry_after == 3600 and made.sleeps == [7.0]  # too long to wait inside the call


@pytest.mark.parametrize("kind", ["truncate", "malformed"])
async def test_broken_json_is_an_error(app: Any, clock: Clock, kind: str) -> None:
    made = make_provider(app, clock=clock, page_size=5)
    app.faults.add(Fault(kind, path_contains="/beta/v1/client/", times=1))
    with pytest.raises(ProviderRetriableError, match="incomplete or malformed JSON"):
        await made.provider.list_scopes()
    scope = (await made.provider.list_scopes())[0]
    app.faults.add(Fault(kind, path_contains="/beta/v1/agent/", query_contains="page=2", times=1))
    with pytest.raises(ProviderIncompleteError, match="page 2 failed"):
        async for _ in made.provider.iter_device_pages(scope):
            pass


async def test_slow_answers_and_timeouts(app: Any, clock: Clock) -> None:
    made = make_provider(app, clock=clock)
    app.faults.add(Fault("slow", delay_s=0.2, path_contains="/beta/v1/client/", times=1))
    assert await made.provider.list_scopes()  # slow is fine within the timeout
    made.provider.client.beta_timeout = httpx.Timeout(0.05, connect=10.0)
    app.faults.add(Fault("slow", delay_s=0.3, path_contains="/beta/v1/client/"))
    # It was reached: the message says what happened, never "Cannot reach".
    with pytest.raises(ProviderRetriableError, match="accepted the connection but did not answer in time"):
        await made.provider.list_scopes()
    assert len(made.sleeps) == 3


async def test_timeouts_per_request_kind(app: Any, clock: Clock) -> None:
    made = make_provider(app, clock=clock)
    p = made.provider
    await p.test_connection()
    await all_devices(p)
    [e async for e in p.iter_alerts()]
    [s async for s in p.iter_software()]
    reads = {(method, path.split("/")[1] or "/"): read for method, path, read in made.transport.timeouts}
    assert reads[("GET", "beta")] == 60 and reads[("PATCH", "alerts")] == 180 and reads[("GET", "software")] == 180
    assert HEAVY_TIMEOUT.connect == 10


# --------------------------------------------------------------------------- pagination


async def test_walk_uses_base_urls_and_is_complete(app: Any, clock: Clock, fleet: Any) -> None:
    made = make_provider(app, clock=clock, page_size=4)
    devices = await all_devices(made.provider)
    assert set(devices) == {a.agent_id for a in fleet.agents.values()}
    pages = [r for r in made.transport.requests if r.url.path == "/beta/v1/agent/"]
    assert all(r.url.params["page_size"] == "4" and r.url.params["client_id"] != "0" for r in pages)
    assert made.transport.paths().count("/beta/v1/site/") == 1  # sites fetched once per instance


@pytest.mark.parametrize("mutation", ["add", "delete", "move_in_and_delete"])
async def test_listing_that_changes_mid_walk_is_incomplete(app: Any, clock: Clock, fleet: Any, mutation: str) -> None:
    made = make_provider(app, clock=clock, page_size=4)
    scopes = await made.provider.list_scopes()
    scope = max(
        scopes, key=lambda s: sum(1 for a in fleet.agents.values() if str(fleet.client_id_of(a)) == s.external_id)
    )
    client_id = int(scope.external_id)
    site = next(s.id for s in fleet.sites.values() if s.client_id == client_id)
    members = sorted(a.pk for a in fleet.agents.values() if fleet.client_id_of(a) == client_id)
    assert len(members) > 8
    pages = made.provider.iter_device_pages(scope)
    first = await anext(pages)
    assert len(first.snapshots) + len(first.invalid) == 4
    if mutation == "delete":
        fleet.delete_agent(members[1])  # shifts a row from page 2 onto page 1, which was already read
    elif mutation == "add":
        fleet.add_agent(site, when=NOW)
    else:
        # Same count, but a low-pk agent moved in ahead of the rows already read (one is read twice)
        # while an unread one was deleted: only the unique-id check catches it.
        mover = next(a for a in fleet.agents.values() if fleet.client_id_of(a) != client_id and a.pk < members[3])
        fleet.move_agent(mover.pk, site)
        fleet.delete_agent(members[-1])
    with pytest.raises(ProviderIncompleteError) as info:
        async for _ in pages:
            pass
    expected = "distinct records" if mutation == "move_in_and_delete" else "changed while it was read"
    assert expected in info.value.message


async def test_page_size_adapts_to_row_size(clock: Clock) -> None:
    fleet = generate_fleet(seed=8, clients=1, agents=260, sites_per_client=2, now=NOW)
    app = sim(fleet, clock)
    made = make_provider(app, clock=clock)  # page_size 1000
    scope = (await made.provider.list_scopes())[0]
    made.provider.max_page_bytes = 2_000_000  # as if rows were production-sized: ~150 per page here
    seen = [s async for page in made.provider.iter_device_pages(scope) for s in page.snapshots]
    assert len({s.external_id for s in seen}) == len(seen) == 260
    sizes = [(r.url.params["page"], int(r.url.params["page_size"])) for r in made.transport.requests
             if r.url.path == "/beta/v1/agent/"]  # fmt: skip
    assert sizes[0] == ("1", 100)  # the probe
    walk_size = sizes[1][1]
    assert 100 < walk_size < 1000 and [p for p, _ in sizes[1:]] == [str(i + 1) for i in range(len(sizes) - 1)]
    assert all(size == walk_size for _, size in sizes[1:])

    small = generate_fleet(seed=8, clients=1, agents=40, now=NOW)
    made = make_provider(sim(small, clock), clock=clock)
    scope = (await made.provider.list_scopes())[0]
    assert len([s async for page in made.provider.iter_device_pages(scope) for s in page.snapshots]) == 40
    assert [r.url.params["page_size"] for r in made.transport.requests if r.url.path == "/beta/v1/agent/"] == ["100"]


async def test_incremental_listing_and_client_id_guard(app: Any, clock: Clock, fleet: Any) -> None:
    made = make_provider(app, clock=clock)
    scope = (await made.provider.list_scopes())[0]
    since = NOW - timedelta(minutes=10)
    seen = [s async for page in made.provider.iter_device_pages(scope, since=since) for s in page.snapshots]
    expected = {
        a.agent_id
        for a in fleet.agents.values()
        if str(fleet.client_id_of(a)) == scope.external_id and a.last_seen and a.last_seen >= since
    }
    assert {s.external_id for s in seen} == expected
    last = made.transport.requests[-1]
    assert last.url.params["last_seen_range_after"] == "2025-11-22T10:48:03.407861Z"
    with pytest.raises(ProviderConfigError):
        async for _ in made.provider.iter_device_pages(RemoteScope("0", "all?")):
            pass


async def test_fetch_device_by_integer_pk(app: Any, clock: Clock, fleet: Any) -> None:
    made = make_provider(app, clock=clock)
    devices = await all_devices(made.provider)
    agent = next(iter(fleet.agents.values()))
    fetched = await made.provider.fetch_device(agent.agent_id, str(agent.pk))
    assert fetched == devices[agent.agent_id]
    assert made.transport.requests[-1].url.path == f"/beta/v1/agent/{agent.pk}/"
    assert await made.provider.fetch_device("x" * 40, "999999") is None  # 404 JSON → gone
    other = list(fleet.agents.values())[1]
    assert await made.provider.fetch_device(agent.agent_id, str(other.pk)) is None  # pk of another agent
    count = len(made.transport.requests)
    assert await made.provider.fetch_device(agent.agent_id, None) is None  # no pk: nothing to ask
    assert len(made.transport.requests) == count


# --------------------------------------------------------------------------- alerts


async def test_alerts_are_only_the_unresolved_ones_with_filter_keys(app: Any, clock: Clock, fleet: Any) -> None:
    made = make_provider(app, clock=clock)
    events = [e async for e in made.provider.iter_alerts()]
    expected = {str(a.id) for a in fleet.alerts.values() if not a.resolved and a.agent_pk is not None}
    assert {e.external_alert_id for e in events} == expected
    assert all(e.status == "active" for e in events)
    assert any(e.attributes.get("snoozed") for e in events) and any(e.attributes.get("hidden") for e in events)
    body = json.loads(made.transport.requests[-1].content)
    assert body == {"resolvedFilter": False, "clientFilter": sorted(fleet.clients)}  # no timeFilter, never {}
    history = [e async for e in made.provider.iter_alert_history(days=7)]
    assert json.loads(made.transport.requests[-1].content) == {"timeFilter": 7, "clientFilter": sorted(fleet.clients)}
    recent = {
        str(a.id) for a in fleet.alerts.values() if a.agent_pk is not None and a.alert_time > NOW - timedelta(days=7)
    }
    assert {e.external_alert_id for e in history} == recent and any(e.status == "resolved" for e in history)
    one = [e async for e in made.provider.iter_alerts(client_ids=["1"])]
    assert one and {e.external_device_id for e in one} <= {a.agent_id for a in fleet.agents.values()
                                                          if fleet.client_id_of(a) == 1}  # fmt: skip


# --------------------------------------------------------------------------- software


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Serves an ASGI app chunk by chunk (``httpx.ASGITransport`` buffers the whole body first)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.chunks_sent = 0
        self.bytes_sent = 0
        self.finished = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=1)
        started: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                await asyncio.Event().wait()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.set_result(message)
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if chunk:
                    self.chunks_sent += 1
                    self.bytes_sent += len(chunk)
                    await queue.put(chunk)
                if not message.get("more_body", False):
                    self.finished = True
                    await queue.put(None)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": request.method,
            "scheme": request.url.scheme, "path": request.url.path, "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query, "root_path": "", "server": (request.url.host, 443),
            "client": ("127.0.0.1", 5000), "headers": [(k.lower(), v) for k, v in request.headers.raw],
        }  # fmt: skip
        task = asyncio.create_task(self.app(scope, receive, send))
        start = await started

        class Body(httpx.AsyncByteStream):
            async def __aiter__(self) -> Any:
                while (chunk := await queue.get()) is not None:
                    yield chunk

            async def aclose(self) -> None:
                task.cancel()

        return httpx.Response(start["status"], headers=start.get("headers", []), stream=Body())


async def test_software_items_arrive_while_the_body_still_streams(clock: Clock) -> None:
    fleet = generate_fleet(seed=9, clients=5, agents=1200, now=NOW)
    app = sim(fleet, clock)
    streaming = StreamingASGITransport(app)
    made = make_provider(app, clock=clock, transport=streaming)
    devices = 0
    first_seen_at: tuple[int, bool] | None = None
    async for _device in made.provider.iter_software():
        if first_seen_at is None:
            first_seen_at = (streaming.chunks_sent, streaming.finished)
        devices += 1
    assert devices == sum(1 for a in fleet.agents.values() if a.software_id is not None)
    assert streaming.chunks_sent > 10
    assert first_seen_at is not None and first_seen_at[0] <= 2 and not first_seen_at[1]  # before the end
    assert [r.method for r in made.transport.requests] == ["GET"]  # one GET, never a PUT


async def test_software_parsing_memory_is_bounded(clock: Clock) -> None:
    """The simulator's /software/ body (~2.7 MB for 800 agents) replayed in 256 KiB chunks: the
    provider's peak allocation while consuming it is a small constant (~0.2 MB, the same for a
    10 MB body), far below the body size. tracemalloc is slow, so the fleet stays small."""
    fleet = generate_fleet(seed=9, clients=5, agents=800, now=NOW)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim(fleet, clock)), base_url="https://a.example"
    ) as c:
        body = (await c.get("/software/", headers={"X-API-KEY": CREDS.api_key})).content
    chunk = 256 * 1024
    chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)]

    async def replay(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        for part in chunks:
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    streaming = StreamingASGITransport(replay)
    made = make_provider(replay, clock=clock, transport=streaming)
    devices = items = 0
    tracemalloc.start()
    try:
        async for device in made.provider.iter_software():
            devices += 1
            items += len(device.software)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert devices == sum(1 for a in fleet.agents.values() if a.software_id is not None) > 500
    assert len(body) > 2_000_000 and items > 8_000
    assert peak < min(len(body) / 6, 1_000_000), (peak, len(body))  # a slice and a few rows at a time


async def test_software_rows_join_by_agent_pk(app: Any, clock: Clock, fleet: Any) -> None:
    made = make_provider(app, clock=clock)
    rows = [d async for d in made.provider.iter_software()]
    windows_with_inventory = {str(a.pk) for a in fleet.agents.values() if a.software_id is not None}
    assert {d.external_ref for d in rows} == windows_with_inventory
    assert all(d.external_id is None and d.software for d in rows)


async def test_truncated_software_stream_is_incomplete(app: Any, clock: Clock, fleet: Any) -> None:
    made = make_provider(app, clock=clock)
    app.faults.add(Fault("truncate", path_contains="/software/", times=1))
    got = []
    with pytest.raises(ProviderIncompleteError, match="ended early"):
        async for device in made.provider.iter_software():
            got.append(device)
    total = sum(1 for a in fleet.agents.values() if a.software_id is not None)
    assert 0 < len(got) < total  # the complete rows came through


async def test_software_on_the_dashboard_host_is_a_config_error(fleet: Any, clock: Clock) -> None:
    made = make_provider(sim(fleet, clock, mode="dashboard"), clock=clock)
    with pytest.raises(ProviderConfigError, match="web dashboard"):
        async for _ in made.provider.iter_software():
            pass


# --------------------------------------------------------------------------- never


async def test_never_agent_id_filter_never_writes(app: Any, clock: Clock, fleet: Any) -> None:
    made = knox(app, clock)
    p = made.provider
    await p.test_connection()
    devices = await all_devices(p)
    agent = next(iter(fleet.agents.values()))
    await p.fetch_device(agent.agent_id, devices[agent.agent_id].external_ref)
    [e async for e in p.iter_alerts()]
    [s async for s in p.iter_software()]
    await p.keep_alive()
    await p.on_disconnect()
    for request in made.transport.requests:
        assert "agent_id" not in request.url.params, request.url
        assert request.method in ("GET", "PATCH") or request.url.path in ("/v2/checkcreds/", "/logout/")
        if request.method == "PATCH":
            assert request.url.path == "/alerts/" and json.loads(request.content) != {}
