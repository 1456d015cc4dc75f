"""The Tactical RMM simulator against the vendor facts of reference/tactical-rmm.md."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from rmmbridge.simulators.faults import MALFORMED_BODY, Fault
from rmmbridge.simulators.tacticalrmm import (
    DEFAULT_API_KEY,
    DEFAULT_CREDENTIALS,
    ApiKey,
    Role,
    TacticalUser,
    computed,
    create_app,
    credentials_for_seed,
    default_users,
    generate_fleet,
    serve,
    status_of,
    totp,
    verify_totp,
)
from rmmbridge.simulators.tacticalrmm.serializers import DETAIL_KEYS, LIST_KEYS

NOW = datetime(2025, 11, 22, 10, 58, 3, 407861, tzinfo=UTC)
BASE = "https://api.example.com"
CREDS = DEFAULT_CREDENTIALS
HTML_404_MARK = "<title>Not Found</title>"
HTML_500_MARK = "<title>Server Error (500)</title>"


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Sim:
    app: Any
    http: httpx.AsyncClient  # authenticated with the superuser API key
    anon: httpx.AsyncClient  # no credentials
    clock: Clock
    fleet: Any

    def client_of(self, agent: Any) -> int:
        return self.fleet.client_id_of(agent)


def http_client(app: Any, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, **kwargs)


def extra_users(restricted_client: int) -> tuple[list[TacticalUser], list[ApiKey]]:
    users = [
        *default_users(),
        TacticalUser("viewer", "viewer-pass", role=Role.read_only(clients={restricted_client})),
        TacticalUser("norole", "norole-pass"),
        TacticalUser("clientsonly", "x", role=Role(can_list_clients=True)),
        TacticalUser("gone", "gone-pass", is_active=False, is_superuser=True),
        TacticalUser("blocked", "blocked-pass", is_superuser=True, block_dashboard_login=True),
        TacticalUser("manager", "m", role=Role(can_list_alerts=True, can_manage_alerts=True)),
    ]
    keys = [
        ApiKey("VIEWERKEY0000000000000000000000A", "viewer"),
        ApiKey("NOROLEKEY0000000000000000000000A", "norole"),
        ApiKey("CLIENTSONLYKEY00000000000000000A", "clientsonly"),
        ApiKey("INACTIVEKEY000000000000000000000", "gone"),
        ApiKey("EXPIREDKEY0000000000000000000000", "api", expiration=NOW - timedelta(days=1)),
        ApiKey("FUTUREKEY00000000000000000000000", "api", expiration=NOW + timedelta(days=30)),
        ApiKey("MANAGERKEY000000000000000000000A", "manager"),
    ]
    return users, keys


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fleet() -> Any:
    return generate_fleet(seed=7, clients=6, agents=400, sites_per_client=3, now=NOW)


@pytest.fixture
async def sim(fleet: Any, clock: Clock) -> Any:
    users, keys = extra_users(restricted_client=1)
    app = create_app(fleet, clock=clock, users=users, api_keys=keys, login_rate_per_minute=1000)
    async with http_client(app, headers={"X-API-KEY": DEFAULT_API_KEY}) as authed, http_client(app) as anon:
        yield Sim(app, authed, anon, clock, fleet)


def rows_of(fleet: Any) -> list[dict[str, Any]]:
    from rmmbridge.simulators.tacticalrmm.serializers import agent_row

    return [agent_row(fleet, a) for a in fleet.agents.values()]


# ---------------------------------------------------------------------------------------------
# Fleet generator
# ---------------------------------------------------------------------------------------------
def test_generator_is_deterministic() -> None:
    from rmmbridge.simulators.tacticalrmm.serializers import alert_json, client_json, site_json

    a = generate_fleet(seed=11, clients=4, agents=150, now=NOW)
    b = generate_fleet(seed=11, clients=4, agents=150, now=NOW)
    c = generate_fleet(seed=12, clients=4, agents=150, now=NOW)

    def dump(f: Any) -> str:
        return json.dumps({
            "clients": [client_json(x) for x in f.clients.values()],
            "sites": [site_json(x) for x in f.sites.values()],
            "agents": rows_of(f),
            "alerts": [alert_json(f, x) for x in f.alerts.values()],
        })

    assert dump(a) == dump(b)
    assert dump(a) != dump(c)
    assert [x.agent_id for x in a.agents.values()] != [x.agent_id for x in c.agents.values()]


def test_generated_fleet_is_realistic() -> None:
    fleet = generate_fleet(seed=3, clients=12, agents=3000, sites_per_client=3, now=NOW)
    names = [c.name for c in fleet.clients.values()]
    assert len(set(names)) == len(names) == 12
    assert len(fleet.sites) == 36
    site_names = Counter(s.name for s in fleet.sites.values())
    assert site_names.most_common(1)[0][1] > 1  # "Headquarters" repeats across clients
    assert list(fleet.agents) == list(range(1, 3001))
    assert all(re.fullmatch(r"[A-Za-z]{40}", a.agent_id) for a in fleet.agents.values())
    assert len({a.agent_id for a in fleet.agents.values()}) == 3000

    plats = Counter(a.plat for a in fleet.agents.values())
    assert plats["windows"] > plats["linux"] > plats["darwin"] > 0
    assert 0.72 < plats["windows"] / 3000 < 0.88

    rows = rows_of(fleet)
    windows = [r for r in rows if r["plat"] == "windows" and r["wmi_detail"]]
    current = [r for r in windows if len(r["wmi_detail"]["cpu"][0]) == 1]
    legacy = [r for r in windows if len(r["wmi_detail"]["cpu"][0]) > 1]
    assert current and legacy
    assert all(all(len(d) == 1 for d in r["wmi_detail"]["cpu"][0]) for r in legacy)
    posix = [r for r in rows if r["plat"] != "windows" and r["wmi_detail"]]
    assert any("serialnumber" not in r["wmi_detail"] for r in posix)
    assert any(r["wmi_detail"].get("serialnumber") == "n/a" for r in posix)
    assert all(r["services"] is None for r in posix)
    assert any(r["logged_in_username"] == "None" for r in rows)
    assert any(r["last_seen"] is None for r in rows)
    assert any(r["monitoring_type"] not in ("server", "workstation") for r in rows)
    assert Counter(r["monitoring_type"] for r in rows)["workstation"] > 1000
    serials = [computed.serial_number(r["plat"], r["wmi_detail"]) for r in windows]
    assert any(s in ("To Be Filled By O.E.M.", "Default string", "System Serial Number", "0123456789", "None")
               for s in serials)
    assert any(isinstance(r["boot_time"], float) for r in rows)
    assert any(isinstance(r["boot_time"], int) for r in rows)
    totals = [d["total"] for r in rows if r["disks"] for d in r["disks"]]
    assert any(re.fullmatch(r"\d+\.\dG", t) for t in totals)
    assert any(re.fullmatch(r"\d+\.\d GB", t) for t in totals)
    thresholds = Counter((a.offline_time, a.overdue_time) for a in fleet.agents.values())
    assert thresholds[(4, 30)] > 2500 and len(thresholds) > 4

    statuses = Counter(status_of(a, NOW) for a in fleet.agents.values())
    assert statuses["online"] > statuses["overdue"] > 0 and statuses["offline"] > 0

    alerts = list(fleet.alerts.values())
    assert {a.alert_type for a in alerts} == {"availability", "check", "task", "custom"}
    assert {a.severity for a in alerts} == {"info", "warning", "error"}
    assert any(a.resolved for a in alerts) and any(a.snoozed for a in alerts) and any(a.hidden for a in alerts)
    assert sum(1 for a in alerts if a.is_open) > sum(1 for a in alerts if a.snoozed)
    assert [a.id for a in sorted(alerts, key=lambda a: a.alert_time)] == sorted(a.id for a in alerts)


def test_twenty_thousand_agents_generate_quickly() -> None:
    started = time.perf_counter()
    fleet = generate_fleet(seed=5, clients=200, agents=20_000, now=NOW)
    elapsed = time.perf_counter() - started
    assert len(fleet.agents) == 20_000
    assert elapsed < 6.0, f"generation took {elapsed:.2f}s"
    from rmmbridge.simulators.tacticalrmm.fleet import AgentRecord

    assert not hasattr(fleet.agents[1], "__dict__")  # slotted, small records: heavy fields are derived
    assert isinstance(fleet.agents[20_000], AgentRecord)


def test_fleet_mutations() -> None:
    fleet = generate_fleet(seed=9, clients=3, agents=60, now=NOW)
    agent = next(a for a in fleet.agents.values() if fleet.alerts_of(a.pk))
    other_site = next(s for s in fleet.sites.values() if s.client_id != fleet.client_id_of(agent))
    fleet.move_agent(agent.pk, other_site.id)
    assert fleet.client_id_of(agent) == other_site.client_id

    alert_ids = [a.id for a in fleet.alerts_of(agent.pk)]
    fleet.delete_agent(agent.pk)
    assert fleet.agent(agent.pk) is None and fleet.agent_by_agent_id(agent.agent_id) is None
    assert not any(i in fleet.alerts for i in alert_ids)

    fleet.delete_agent(60)
    new = fleet.add_agent(other_site.id, kind="linux", last_seen=NOW)
    assert new.pk == 61  # ids are never reused, like a database sequence
    assert len(new.agent_id) == 40 and new.plat == "linux" and new.site_id == other_site.id
    assert fleet.agent_by_agent_id(new.agent_id) is new

    fleet.set_last_seen(new.pk, NOW - timedelta(hours=2))
    assert status_of(new, NOW) == "overdue"

    first = fleet.add_alert(new.pk, "availability", when=NOW)
    assert fleet.add_alert(new.pk, "availability", when=NOW) is first  # one open alert per condition
    assert first.message == f"{new.hostname} in {fleet.client_of(new).name}, {fleet.sites[new.site_id].name} is overdue."
    fleet.resolve_alert(first.id, when=NOW)
    second = fleet.add_alert(new.pk, "availability", when=NOW)
    assert second.id > first.id and first.resolved and not second.resolved


def test_production_sized_rows() -> None:
    fleet = generate_fleet(seed=3, clients=2, agents=40, now=NOW)
    light = {r["id"]: r for r in rows_of(fleet)}
    fleet.row_profile = "production"
    heavy = {r["id"]: r for r in rows_of(fleet)}
    win = next(pk for pk, r in heavy.items() if r["plat"] == "windows" and r["services"])
    assert len(heavy[win]["services"]) >= 220 > len(light[win]["services"])
    assert {"network_adapter", "usb", "desktop_monitor"} <= set(heavy[win]["wmi_detail"])
    assert len(json.dumps(heavy[win])) > 2 * len(json.dumps(light[win]))
    assert heavy[win]["wmi_detail"]["bios"] == light[win]["wmi_detail"]["bios"]  # same machine


async def test_live_agents_keep_checking_in(fleet: Any, clock: Clock) -> None:
    online = [a.pk for a in fleet.agents.values() if a.live]
    assert online
    app = create_app(fleet, clock=clock, live_agents=True)
    async with http_client(app, headers={"X-API-KEY": DEFAULT_API_KEY}) as client:
        clock.advance(hours=2)
        statuses = [(await client.get(f"/beta/v1/agent/{pk}/")).json()["status"] for pk in online[:20]]
    assert set(statuses) == {"online"}
    never = next(a for a in fleet.agents.values() if a.last_seen is None)
    assert never.last_seen is None  # agents that were not checking in stay silent


# ---------------------------------------------------------------------------------------------
# Status rule (§4)
# ---------------------------------------------------------------------------------------------
MIN = timedelta(minutes=1)
US = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("offline", "overdue", "last_seen", "expected"),
    [
        (4, 30, None, "offline"),
        (4, 30, NOW + timedelta(seconds=30), "online"),
        (4, 30, NOW, "online"),
        (4, 30, NOW - 3 * MIN, "online"),
        (4, 30, NOW - 4 * MIN, "online"),
        (4, 30, NOW - 4 * MIN - US, "offline"),
        (4, 30, NOW - 20 * MIN, "offline"),
        (4, 30, NOW - 30 * MIN + US, "offline"),
        (4, 30, NOW - 30 * MIN, "online"),
        (4, 30, NOW - 30 * MIN - US, "overdue"),
        (4, 30, NOW - timedelta(days=40), "overdue"),
        (10, 5, NOW - 6 * MIN, "online"),
        (10, 5, NOW - 10 * MIN - US, "overdue"),
        (15, 15, NOW - 15 * MIN, "online"),
        (15, 15, NOW - 15 * MIN - US, "overdue"),
        (0, 30, NOW, "online"),
        (0, 30, NOW - US, "offline"),
        (4, 0, NOW - 5 * MIN, "overdue"),
        (4, 0, NOW - 3 * MIN, "online"),
    ],
)
def test_status_boundary_table(offline: int, overdue: int, last_seen: datetime | None, expected: str) -> None:
    agent = SimpleNamespace(last_seen=last_seen, offline_time=offline, overdue_time=overdue)
    assert status_of(agent, NOW) == expected  # type: ignore[arg-type]
    row = {"last_seen": last_seen.isoformat().replace("+00:00", "Z") if last_seen else None,
           "offline_time": offline, "overdue_time": overdue}
    assert status_of(row, NOW) == expected


async def test_detail_status_matches_rule_including_cutoffs(sim: Sim) -> None:
    exact = [a for a in sim.fleet.agents.values() if a.index % 97 in (13, 41)]
    assert exact
    for agent in list(sim.fleet.agents.values())[:120] + exact:
        r = await sim.http.get(f"/beta/v1/agent/{agent.pk}/")
        assert r.status_code == 200
        assert r.json()["status"] == status_of(agent, NOW) == status_of(r.json(), NOW)
    for agent in exact:
        assert (await sim.http.get(f"/beta/v1/agent/{agent.pk}/")).json()["status"] == "online"
    sim.clock.advance(microseconds=1)
    after = {(await sim.http.get(f"/beta/v1/agent/{a.pk}/")).json()["status"] for a in exact}
    assert after <= {"offline", "overdue"} and after


# ---------------------------------------------------------------------------------------------
# Authentication (§2.1-§2.3)
# ---------------------------------------------------------------------------------------------
async def test_no_credentials_and_bearer_are_401(sim: Sim) -> None:
    for headers in ({}, {"Authorization": "Bearer " + "a" * 64}):
        r = await sim.anon.get("/beta/v1/client/", headers=headers)
        assert r.status_code == 401
        assert r.json() == {"detail": "Authentication credentials were not provided."}
        assert r.headers["www-authenticate"] == "Token"
    # Bearer is not a recognised scheme, so an API key next to it still authenticates
    r = await sim.anon.get("/beta/v1/client/", headers={"Authorization": "Bearer x", "X-API-KEY": DEFAULT_API_KEY})
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({"X-API-KEY": "NOPE"}, "Invalid token."),
        ({"X-API-KEY": "EXPIREDKEY0000000000000000000000"}, "The token has expired."),
        ({"X-API-KEY": "INACTIVEKEY000000000000000000000"}, "User inactive or deleted."),
        ({"Authorization": "Token"}, "Invalid token header. No credentials provided."),
        ({"Authorization": "Token abc def"}, "Invalid token header. Token string should not contain spaces."),
        ({"Authorization": "Token " + "0" * 64}, "Invalid token."),
        ({"Authorization": "Token " + "0" * 64, "X-API-KEY": DEFAULT_API_KEY}, "Invalid token."),
    ],
)
async def test_401_shapes(sim: Sim, headers: dict[str, str], detail: str) -> None:
    r = await sim.anon.get("/beta/v1/agent/", headers=headers)
    assert r.status_code == 401
    assert r.json() == {"detail": detail}
    assert r.headers["www-authenticate"] == "Token"
    assert r.headers["content-type"] == "application/json"


async def test_knox_wins_over_api_key_and_keyword_is_case_insensitive(sim: Sim) -> None:
    r = await sim.anon.post("/v2/checkcreds/", json={"username": CREDS.username, "password": CREDS.password})
    token = r.json()["token"]
    r = await sim.anon.get("/beta/v1/client/", headers={"Authorization": f"token {token}", "X-API-KEY": "WRONG"})
    assert r.status_code == 200
    r = await sim.anon.get("/beta/v1/client/", headers={"X-API-KEY": "FUTUREKEY00000000000000000000000"})
    assert r.status_code == 200


async def test_role_permissions(sim: Sim) -> None:
    forbidden = {"detail": "You do not have permission to perform this action."}
    r = await sim.anon.get("/beta/v1/agent/", headers={"X-API-KEY": "CLIENTSONLYKEY00000000000000000A"})
    assert (r.status_code, r.json()) == (403, forbidden)
    r = await sim.anon.get("/beta/v1/client/", headers={"X-API-KEY": "CLIENTSONLYKEY00000000000000000A"})
    assert r.status_code == 200
    for path in ("/beta/v1/client/", "/software/"):
        r = await sim.anon.get(path, headers={"X-API-KEY": "NOROLEKEY0000000000000000000000A"})
        assert (r.status_code, r.json()) == (403, forbidden)
    r = await sim.anon.patch("/alerts/", json={"top": 0}, headers={"X-API-KEY": "CLIENTSONLYKEY00000000000000000A"})
    assert (r.status_code, r.json()) == (403, forbidden)
    # GET /alerts/ needs the list permission before it gets its 405
    r = await sim.anon.get("/alerts/", headers={"X-API-KEY": "CLIENTSONLYKEY00000000000000000A"})
    assert r.status_code == 403


async def test_restricted_role_filters_alerts_and_software_but_not_beta_lists(sim: Sim) -> None:
    viewer = {"X-API-KEY": "VIEWERKEY0000000000000000000000A"}
    everyone = (await sim.http.get("/beta/v1/agent/", params={"page_size": 1000})).json()
    seen = (await sim.anon.get("/beta/v1/agent/", params={"page_size": 1000}, headers=viewer)).json()
    assert seen["count"] == everyone["count"] == len(sim.fleet.agents)
    assert len((await sim.anon.get("/beta/v1/client/", headers=viewer)).json()) == len(sim.fleet.clients)

    assert (await sim.anon.get("/beta/v1/client/1/", headers=viewer)).status_code == 200
    r = await sim.anon.get("/beta/v1/client/2/", headers=viewer)
    assert r.status_code == 403
    other_site = next(s for s in sim.fleet.sites.values() if s.client_id == 2)
    assert (await sim.anon.get(f"/beta/v1/site/{other_site.id}/", headers=viewer)).status_code == 403

    alerts = (await sim.anon.patch("/alerts/", json={}, headers=viewer)).json()
    all_alerts = (await sim.http.patch("/alerts/", json={})).json()
    assert 0 < len(alerts) < len(all_alerts)
    assert all(a.get("client", sim.fleet.clients[1].name) == sim.fleet.clients[1].name for a in alerts)
    assert any(a["alert_type"] == "custom" for a in alerts)  # agent-less alerts stay visible

    software = json.loads((await sim.anon.get("/software/", headers=viewer)).content)
    assert software and all(sim.client_of(sim.fleet.agents[row["agent"]]) == 1 for row in software)
    outsider = next(a for a in sim.fleet.agents.values() if sim.client_of(a) != 1)
    r = await sim.anon.get(f"/software/{outsider.agent_id}/", headers=viewer)
    assert r.status_code == 403


# ---------------------------------------------------------------------------------------------
# Knox sign-in (§2.4-§2.6)
# ---------------------------------------------------------------------------------------------
def test_totp_matches_rfc6238_vector() -> None:
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # "12345678901234567890"
    assert totp(secret, 59) == "287082"
    assert totp(secret, 1111111109) == "081804"
    assert verify_totp(secret, "081804", 1111111109 + 30 * 10)
    assert not verify_totp(secret, "081804", 1111111109 + 30 * 11)
    assert not verify_totp(secret, 81804, 1111111109)  # int() loses the leading zero, as pyotp does


async def test_checkcreds_without_totp_returns_a_180s_token(sim: Sim) -> None:
    r = await sim.anon.post("/v2/checkcreds/", json={"username": CREDS.username, "password": CREDS.password})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["expiry", "token", "totp"] and body["totp"] is False
    assert re.fullmatch(r"[0-9a-f]{64}", body["token"])
    assert body["expiry"] == (NOW + timedelta(seconds=180)).isoformat().replace("+00:00", "Z")
    r = await sim.anon.patch("/alerts/", json={"top": 0}, headers={"Authorization": f"Token {body['token']}"})
    assert r.status_code == 200 and list(r.json()) == ["alerts_count", "alerts"]


async def test_checkcreds_with_totp_and_failures(sim: Sim) -> None:
    r = await sim.anon.post("/v2/checkcreds/", json={"username": CREDS.totp_username, "password": CREDS.totp_password})
    assert (r.status_code, r.json()) == (200, {"totp": True})
    for body in (
        {"username": CREDS.username, "password": "wrong"},
        {"username": "nobody", "password": "x"},
        {"username": CREDS.username},
        {"username": "blocked", "password": "blocked-pass"},
        {"username": "gone", "password": "gone-pass"},
    ):
        r = await sim.anon.post("/v2/checkcreds/", json=body)
        assert (r.status_code, r.text) == (400, '"Bad credentials"')
    for body in ({}, {"password": "x"}):
        r = await sim.anon.post("/v2/checkcreds/", json=body)
        assert r.status_code == 500 and HTML_500_MARK in r.text


async def test_login_with_totp(sim: Sim) -> None:
    creds = {"username": CREDS.totp_username, "password": CREDS.totp_password}
    code = totp(CREDS.totp_secret, NOW)
    r = await sim.anon.post("/v2/login/", json={**creds, "twofactor": code})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["expiry", "token", "username", "name"]
    assert body["username"] == CREDS.totp_username and body["name"] is None
    assert body["expiry"] == (NOW + timedelta(hours=5)).isoformat().replace("+00:00", "Z")
    assert (await sim.anon.get("/beta/v1/", headers={"Authorization": f"Token {body['token']}"})).json() == {
        "agent": f"{BASE}/beta/v1/agent/", "client": f"{BASE}/beta/v1/client/", "site": f"{BASE}/beta/v1/site/",
    }

    ok_old = totp(CREDS.totp_secret, NOW, offset_steps=-10)
    stale = totp(CREDS.totp_secret, NOW, offset_steps=-11)
    assert (await sim.anon.post("/v2/login/", json={**creds, "twofactor": ok_old})).status_code == 200
    for code_value in (stale, "000000" if code != "000000" else "111111"):
        r = await sim.anon.post("/v2/login/", json={**creds, "twofactor": code_value})
        assert (r.status_code, r.json()) == (400, "Bad credentials")

    # a code with a leading zero, sent as an integer, fails (str(int) loses the zero)
    moment = next(NOW + timedelta(seconds=30 * i) for i in range(2000)
                  if totp(CREDS.totp_secret, NOW + timedelta(seconds=30 * i)).startswith("0"))
    sim.clock.now = moment
    zero_code = totp(CREDS.totp_secret, moment)
    r = await sim.anon.post("/v2/login/", json={**creds, "twofactor": int(zero_code)})
    assert (r.status_code, r.json()) == (400, "Bad credentials")
    assert (await sim.anon.post("/v2/login/", json={**creds, "twofactor": zero_code})).status_code == 200


async def test_login_error_shapes(sim: Sim) -> None:
    code = totp(CREDS.totp_secret, NOW)
    r = await sim.anon.post("/v2/login/", json={"username": CREDS.totp_username, "password": "no", "twofactor": code})
    assert (r.status_code, r.json()) == (400, {"non_field_errors": ["Unable to log in with provided credentials."]})
    r = await sim.anon.post("/v2/login/", json={"username": CREDS.totp_username, "twofactor": code})
    assert (r.status_code, r.json()) == (400, {"password": ["This field is required."]})
    r = await sim.anon.post("/v2/login/", json={"username": CREDS.totp_username, "password": CREDS.totp_password})
    assert r.status_code == 500 and HTML_500_MARK in r.text  # missing twofactor: KeyError upstream
    for extra in ({}, {"twofactor": code}):  # a user without TOTP must never call /v2/login/
        r = await sim.anon.post("/v2/login/", json={"username": CREDS.username, "password": CREDS.password, **extra})
        assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")


async def test_knox_token_slides_and_dies_after_five_idle_hours(sim: Sim) -> None:
    body = {"username": CREDS.totp_username, "password": CREDS.totp_password,
            "twofactor": totp(CREDS.totp_secret, NOW)}
    token = (await sim.anon.post("/v2/login/", json=body)).json()["token"]
    auth = {"Authorization": f"Token {token}"}
    stored = sim.app.auth.tokens[token]

    sim.clock.advance(minutes=5)
    assert (await sim.anon.get("/beta/v1/client/", headers=auth)).status_code == 200
    assert stored.expiry == NOW + timedelta(hours=5)  # moved by < 600 s: not written

    sim.clock.advance(hours=4)
    assert (await sim.anon.get("/beta/v1/client/", headers=auth)).status_code == 200
    assert stored.expiry == sim.clock.now + timedelta(hours=5)  # renewed

    sim.clock.advance(hours=5, seconds=1)
    for _ in range(2):
        r = await sim.anon.get("/beta/v1/client/", headers=auth)
        assert (r.status_code, r.json()) == (401, {"detail": "Invalid token."})
    assert token not in sim.app.auth.tokens


async def test_checkcreds_token_expires_unless_used_then_slides(sim: Sim) -> None:
    creds = {"username": CREDS.username, "password": CREDS.password}
    idle = (await sim.anon.post("/v2/checkcreds/", json=creds)).json()["token"]
    used = (await sim.anon.post("/v2/checkcreds/", json=creds)).json()["token"]
    sim.clock.advance(seconds=100)
    assert (await sim.anon.get("/beta/v1/client/", headers={"Authorization": f"Token {used}"})).status_code == 200
    sim.clock.advance(seconds=100)
    assert (await sim.anon.get("/beta/v1/client/", headers={"Authorization": f"Token {idle}"})).status_code == 401
    sim.clock.advance(hours=4)
    assert (await sim.anon.get("/beta/v1/client/", headers={"Authorization": f"Token {used}"})).status_code == 200


async def test_logout(sim: Sim) -> None:
    token = (await sim.anon.post("/v2/checkcreds/", json={"username": CREDS.username,
                                                          "password": CREDS.password})).json()["token"]
    auth = {"Authorization": f"Token {token}"}
    r = await sim.anon.post("/logout/", headers=auth)
    assert r.status_code == 204 and r.content == b""
    assert (await sim.anon.get("/beta/v1/client/", headers=auth)).status_code == 401
    r = await sim.http.post("/logout/")  # an API key is not a Knox token
    assert (r.status_code, r.json()) == (401, {"detail": "Authentication credentials were not provided."})


async def test_login_views_are_throttled(fleet: Any, clock: Clock) -> None:
    app = create_app(fleet, clock=clock, login_rate_per_minute=3)
    async with http_client(app) as client:
        bad = {"username": "x", "password": "y"}
        for _ in range(3):
            assert (await client.post("/v2/checkcreds/", json=bad)).status_code == 400
        r = await client.post("/v2/checkcreds/", json=bad)
        assert r.status_code == 429
        assert r.json() == {"detail": "Request was throttled. Expected available in 60 seconds."}
        assert r.headers["retry-after"] == "60"
        assert (await client.post("/v2/login/", json=bad)).status_code == 400  # separate budget
        assert (await client.post("/v2/checkcreds/", json=bad, headers={"X-Forwarded-For": "10.9.9.9"})).status_code == 400
        for _ in range(5):  # data calls are never throttled
            assert (await client.get("/beta/v1/client/", headers={"X-API-KEY": DEFAULT_API_KEY})).status_code == 200
        clock.advance(seconds=45)
        r = await client.post("/v2/checkcreds/", json=bad)
        assert r.status_code == 429 and r.headers["retry-after"] == "15"
        clock.advance(seconds=16)
        assert (await client.post("/v2/checkcreds/", json=bad)).status_code == 400


# ---------------------------------------------------------------------------------------------
# Hosts, routing and error pages (§1, §2.3)
# ---------------------------------------------------------------------------------------------
async def test_home_and_routing_errors(sim: Sim) -> None:
    r = await sim.anon.get("/")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})

    r = await sim.http.get("/beta/v1/client", params={"search": "a"})
    assert r.status_code == 301 and r.content == b""
    assert r.headers["location"] == "/beta/v1/client/?search=a"
    r = await sim.http.patch("/alerts", json={"top": 0})
    assert (r.status_code, r.headers["location"]) == (301, "/alerts/")

    for path in ("/api/v3/clients/", "/beta/v2/agent/", "/software/short-id/", "/alerts/abc/"):
        r = await sim.http.get(path)
        assert r.status_code == 404 and HTML_404_MARK in r.text
        assert r.headers["content-type"] == "text/html; charset=utf-8"


async def test_wrong_methods_are_405(sim: Sim) -> None:
    cases = [("GET", "/alerts/"), ("POST", "/beta/v1/client/"), ("DELETE", "/beta/v1/agent/1/"),
             ("POST", "/beta/v1/site/1/"), ("PATCH", "/beta/v1/agent/")]
    for method, path in cases:
        r = await sim.http.request(method, path)
        assert r.status_code == 405
        assert r.json() == {"detail": f'Method "{method}" not allowed.'}


async def test_disallowed_host_gets_html_400(fleet: Any, clock: Clock) -> None:
    app = create_app(fleet, clock=clock, allowed_hosts=["api.example.com"])
    async with http_client(app, headers={"X-API-KEY": DEFAULT_API_KEY}) as client:
        assert (await client.get("/beta/v1/client/")).status_code == 200
        r = await client.get("/beta/v1/client/", headers={"Host": "203.0.113.10"})
        assert r.status_code == 400 and "<title>Bad Request (400)</title>" in r.text


async def test_beta_api_disabled_is_html_404_while_alerts_answer_json(fleet: Any, clock: Clock) -> None:
    app = create_app(fleet, clock=clock, beta_api_enabled=False)
    async with http_client(app, headers={"X-API-KEY": DEFAULT_API_KEY}) as client:
        for path in ("/beta/v1/client/", "/beta/v1/agent/1/", "/beta/v1/", "/beta/v1/client"):
            r = await client.get(path)
            assert r.status_code == 404 and HTML_404_MARK in r.text
        r = await client.patch("/alerts/", json={"top": 0})
        assert r.status_code == 200 and r.json()["alerts"] == []


async def test_dashboard_mode_answers_html_everywhere(fleet: Any, clock: Clock) -> None:
    app = create_app(fleet, clock=clock, mode="dashboard")
    async with http_client(app, headers={"X-API-KEY": DEFAULT_API_KEY}) as client:
        for path in ("/", "/beta/v1/client/", "/anything/at/all"):
            r = await client.get(path)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert '<div id=q-app></div>' in r.text
        for method in ("POST", "PATCH"):
            r = await client.request(method, "/alerts/", json={"top": 0})
            assert r.status_code == 405 and "<center>nginx</center>" in r.text


# ---------------------------------------------------------------------------------------------
# Beta API: clients, sites, pagination (§3.2-§3.4)
# ---------------------------------------------------------------------------------------------
async def test_clients_are_a_plain_array_ordered_by_name(sim: Sim) -> None:
    r = await sim.http.get("/beta/v1/client/", params={"page": 2, "page_size": 1})
    clients = r.json()
    assert isinstance(clients, list) and len(clients) == len(sim.fleet.clients)
    assert [c["name"] for c in clients] == sorted(c["name"] for c in clients)
    assert list(clients[0]) == ["id", "created_by", "created_time", "modified_by", "modified_time", "name",
                                "block_policy_inheritance", "failing_checks", "workstation_policy",
                                "server_policy", "alert_template"]
    one = clients[0]
    assert (await sim.http.get(f"/beta/v1/client/{one['id']}/")).json() == one
    r = await sim.http.get("/beta/v1/client/999/")
    assert (r.status_code, r.json()) == (404, {"detail": "No Client matches the given query."})


async def test_sites_are_paginated_and_ignore_client_param(sim: Sim) -> None:
    r = await sim.http.get("/beta/v1/site/", params={"client": 2})
    body = r.json()
    assert body["count"] == len(sim.fleet.sites) == 18 and body["next"] is None and body["previous"] is None
    assert list(body["results"][0])[8] == "client" and {s["client"] for s in body["results"]} == set(range(1, 7))
    r = await sim.http.get("/beta/v1/site/", params={"ordering": "-id", "page_size": 2})
    assert [s["id"] for s in r.json()["results"]] == [18, 17]
    name = body["results"][0]["name"]
    r = await sim.http.get("/beta/v1/site/", params={"search": name.lower()})
    assert r.json()["count"] == sum(1 for s in sim.fleet.sites.values() if name.lower() in s.name.lower())
    r = await sim.http.get("/beta/v1/site/999/")
    assert (r.status_code, r.json()) == (404, {"detail": "No Site matches the given query."})


async def test_pagination_envelope(sim: Sim) -> None:
    total = len(sim.fleet.agents)
    r = await sim.http.get("/beta/v1/agent/")
    body = r.json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == total and len(body["results"]) == 100
    assert body["next"] == f"{BASE}/beta/v1/agent/?page=2" and body["previous"] is None

    r = await sim.http.get("/beta/v1/agent/", params={"client_id": 1, "page": 2, "page_size": 3})
    body = r.json()
    assert body["next"] == f"{BASE}/beta/v1/agent/?client_id=1&page=3&page_size=3"
    assert body["previous"] == f"{BASE}/beta/v1/agent/?client_id=1&page_size=3"
    r = await sim.http.get("/beta/v1/agent/", params={"page": 3, "page_size": 3})
    assert r.json()["previous"] == f"{BASE}/beta/v1/agent/?page=2&page_size=3"

    r = await sim.http.get("/beta/v1/agent/", params={"page_size": 5000}, headers={"Host": "rmm-gw.internal:8443"})
    body = r.json()
    assert len(body["results"]) == min(total, 1000)
    if total > 1000:
        assert body["next"] == "https://rmm-gw.internal:8443/beta/v1/agent/?page=2&page_size=5000"

    for bad in ("abc", "0", "-4", "2.5"):
        r = await sim.http.get("/beta/v1/agent/", params={"page_size": bad})
        assert len(r.json()["results"]) == 100

    last = -(-total // 150)
    r = await sim.http.get("/beta/v1/agent/", params={"page_size": 150, "page": last})
    assert r.json()["next"] is None and len(r.json()["results"]) == total - 150 * (last - 1)
    r = await sim.http.get("/beta/v1/agent/", params={"page_size": 150, "page": "last"})
    assert r.json()["results"][-1]["id"] == max(sim.fleet.agents)
    for bad_page in (str(last + 1), "0", "abc", "-1"):
        r = await sim.http.get("/beta/v1/agent/", params={"page_size": 150, "page": bad_page})
        assert (r.status_code, r.json()) == (404, {"detail": "Invalid page."})

    r = await sim.http.get("/beta/v1/agent/", params={"client_id": 999})
    assert r.json() == {"count": 0, "next": None, "previous": None, "results": []}


# ---------------------------------------------------------------------------------------------
# Beta API: agents (§3.5-§3.8)
# ---------------------------------------------------------------------------------------------
async def test_agent_list_rows_have_the_exact_keys_and_types(sim: Sim) -> None:
    rows = (await sim.http.get("/beta/v1/agent/", params={"page_size": 1000})).json()["results"]
    assert len(LIST_KEYS) == 40  # the §3.5 list (the §10.1 checklist's "41" miscounts it)
    assert all(list(row) == list(LIST_KEYS) for row in rows)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    for row in rows:
        assert isinstance(row["offline_time"], int) and isinstance(row["overdue_time"], int)
        assert row["plat"] in ("windows", "linux", "darwin")
        assert row["total_ram"] is None or isinstance(row["total_ram"], int)
        assert isinstance(row["site"], int)
        if row["plat"] != "windows":
            assert row["services"] is None
        if row["last_seen"] is not None:
            assert row["last_seen"].endswith("Z")
    for absent in ("status", "serial_number", "local_ips", "make_model", "client"):
        assert absent not in rows[0]


async def test_agent_filters_and_their_quirks(sim: Sim) -> None:
    fleet = sim.fleet

    async def ids(**params: Any) -> list[int]:
        r = await sim.http.get("/beta/v1/agent/", params={"page_size": 1000, **params})
        assert r.status_code == 200, r.text
        return [row["id"] for row in r.json()["results"]]

    in_client_2 = [a.pk for a in fleet.agents.values() if fleet.client_id_of(a) == 2]
    assert await ids(client_id=2) == in_client_2
    assert len(await ids(client_id=0)) == len(fleet.agents)
    r = await sim.http.get("/beta/v1/agent/", params={"client_id": "abc"})
    assert (r.status_code, r.json()) == (400, {"client_id": ["Enter a number."]})
    r = await sim.http.get("/beta/v1/agent/", params={"plat": "solaris"})
    assert (r.status_code, r.json()) == (
        400, {"plat": ["Select a valid choice. solaris is not one of the available choices."]})
    r = await sim.http.get("/beta/v1/agent/", params={"monitoring_type": "laptop"})
    assert r.status_code == 400 and "laptop is not one of the available choices" in r.json()["monitoring_type"][0]
    assert await ids(plat="linux") == [a.pk for a in fleet.agents.values() if a.plat == "linux"]
    assert await ids(monitoring_type="server") == [
        a.pk for a in fleet.agents.values() if a.monitoring_type == "server"]
    site = next(iter(fleet.sites))
    assert await ids(site=site) == [a.pk for a in fleet.agents.values() if a.site_id == site]
    host = fleet.agents[5].hostname
    assert await ids(hostname=host) == [a.pk for a in fleet.agents.values() if a.hostname == host]
    assert await ids(ordering="-id") == sorted(fleet.agents, reverse=True)
    assert await ids(needs_reboot="true") == [a.pk for a in fleet.agents.values() if a.needs_reboot]

    cut = NOW - timedelta(minutes=4)
    cut_text = cut.isoformat().replace("+00:00", "Z")
    after = await ids(last_seen_range_after=cut_text)
    assert after == [a.pk for a in fleet.agents.values() if a.last_seen is not None and a.last_seen >= cut]
    exactly_on_cut = [a.pk for a in fleet.agents.values() if a.last_seen == cut]
    assert exactly_on_cut and set(exactly_on_cut) <= set(after)  # inclusive
    before = await ids(last_seen_range_before=cut_text)
    assert set(before) | set(after) == {a.pk for a in fleet.agents.values() if a.last_seen is not None}
    r = await sim.http.get("/beta/v1/agent/?last_seen_range_after=2025-11-22T10:00:00+00:00")
    assert (r.status_code, r.json()) == (400, {"last_seen_range": ["Enter a valid date/time."]})

    service_hit = await ids(search="spooler")
    assert service_hit and all(fleet.agents[i].plat == "windows" for i in service_hit)
    r = await sim.http.get("/beta/v1/agent/", params={"agent_id": fleet.agents[1].agent_id})
    assert r.status_code == 500 and HTML_500_MARK in r.text


async def test_agent_detail_keys_and_lookup_by_integer_pk_only(sim: Sim) -> None:
    agent = next(a for a in sim.fleet.agents.values() if a.plat == "windows" and a.last_seen)
    r = await sim.http.get(f"/beta/v1/agent/{agent.pk}/")
    detail = r.json()
    assert list(detail) == list(DETAIL_KEYS)
    assert "id" not in detail and "default_shell" not in detail and "created_time" not in detail
    assert detail["agent_id"] == agent.agent_id and detail["site"] == agent.site_id
    assert detail["checks"].keys() == {"total", "passing", "failing", "warning", "info", "has_failing_checks"}
    r = await sim.http.get("/beta/v1/agent/99999/")
    assert (r.status_code, r.json()) == (404, {"detail": "No Agent matches the given query."})
    r = await sim.http.get(f"/beta/v1/agent/{agent.agent_id}/")  # the mistake Alga made
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"


async def test_detail_computed_fields_equal_the_upstream_rules_for_every_agent(sim: Sim) -> None:
    rows = {r["id"]: r for r in (await sim.http.get("/beta/v1/agent/", params={"page_size": 1000})).json()["results"]}
    legacy_seen = current_seen = 0
    for pk, row in list(rows.items())[:150]:
        detail = (await sim.http.get(f"/beta/v1/agent/{pk}/")).json()
        wmi, plat = row["wmi_detail"], row["plat"]
        assert detail["serial_number"] == computed.serial_number(plat, wmi)
        assert detail["local_ips"] == computed.local_ips(plat, wmi)
        assert detail["make_model"] == computed.make_model(plat, wmi)
        assert detail["cpu_model"] == computed.cpu_model(plat, wmi)
        assert detail["physical_disks"] == computed.physical_disks(plat, wmi)
        assert detail["graphics"] == computed.graphics(plat, wmi)
        if plat == "windows" and wmi:
            bios_serial = next(d["SerialNumber"] for d in wmi["bios"][0] if "SerialNumber" in d)
            if len(wmi["bios"][0]) > 1:
                legacy_seen += 1
                assert detail["serial_number"] == ""  # bios[0][0] quirk on the old layout
                assert "C/" not in detail["cpu_model"][0]
            else:
                current_seen += 1
                assert detail["serial_number"] == bios_serial
                assert re.search(r", \d+C/\d+T$", detail["cpu_model"][0])
        if wmi is None:
            assert detail["cpu_model"] == ["unknown cpu model"]
    assert legacy_seen and current_seen


def _instance(layout: str, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Current agents: one dict per instance; old agents: one single-key dict per property, A-Z."""
    return [values] if layout == "current" else [{k: values[k]} for k in sorted(values)]


@pytest.mark.parametrize("layout", ["current", "legacy"])
def test_windows_computed_fields_for_both_wmi_layouts(layout: str) -> None:
    def inst(values: dict[str, Any]) -> list[dict[str, Any]]:
        return _instance(layout, values)

    wmi = {
        "bios": [inst({"SerialNumber": "5CG3311XYZ", "Manufacturer": "HP"})],
        "cpu": [inst({"Name": "Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz", "NumberOfCores": 10,
                      "NumberOfLogicalProcessors": 20})] * 2,
        "comp_sys": [inst({"Model": "ThinkPad", "SystemFamily": "ThinkPad T14 Gen 3", "Manufacturer": "LENOVO"})],
        "comp_sys_prod": [inst({"Vendor": "LENOVO", "Version": "ThinkPad T14 Gen 3"})],
        "base_board": [inst({"Manufacturer": "LENOVO", "Product": "21AH"})],
        "disk": [inst({"Caption": "Samsung SSD 870 EVO 2TB", "Size": 2000398934016, "InterfaceType": "IDE"}),
                 inst({"Caption": "WD Elements", "Size": 2000365289472, "InterfaceType": "USB"})],
        "graphics": [inst({"Caption": "Microsoft Remote Display Adapter"}), inst({"Caption": "VMware SVGA 3D"})],
        "network_config": [inst({"IPAddress": ["10.0.4.21", "fe80::1"], "MACAddress": "AA"}),
                           inst({"IPAddress": None}), inst({"Description": "no ip key"})],
    }
    if layout == "current":
        assert computed.serial_number("windows", wmi) == "5CG3311XYZ"
        assert computed.cpu_model("windows", wmi) == ["Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz, 10C/20T"] * 2
    else:
        assert computed.serial_number("windows", wmi) == ""
        assert computed.cpu_model("windows", wmi) == ["Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz"] * 2
    assert computed.make_model("windows", wmi) == "LENOVO ThinkPad T14 Gen 3"
    assert computed.physical_disks("windows", wmi) == ["Samsung SSD 870 EVO 2TB 1,863GB IDE"]
    assert computed.graphics("windows", wmi) == "VMware SVGA 3D"
    assert computed.local_ips("windows", wmi) == "10.0.4.21"
    wmi["network_config"].append(inst({"IPAddress": ["192.168.1.5"]}))
    assert computed.local_ips("windows", wmi) == "10.0.4.21, 192.168.1.5"
    wmi["graphics"] = [inst({"Caption": "Microsoft Remote Display Adapter"})]
    assert computed.graphics("windows", wmi) == "Microsoft Remote Display Adapter"
    wmi["comp_sys"] = [inst({"Model": "To Be Filled By O.E.M.", "SystemFamily": "x"})]
    wmi["comp_sys_prod"] = [inst({"Vendor": "To Be Filled By O.E.M.", "Version": "v"})]
    wmi["base_board"] = [inst({"Manufacturer": "ASUSTeK COMPUTER INC.", "Product": "PRIME B460M-A"})]
    assert computed.make_model("windows", wmi) == "ASUSTeK COMPUTER INC. PRIME B460M-A"
    wmi["comp_sys"] = [inst({"Manufacturer": "HP"})]  # no Model: falls back to comp_sys_prod.Version
    assert computed.make_model("windows", wmi) == "v"


def test_computed_fallbacks_and_posix_rules() -> None:
    broken: tuple[Any, ...] = (None, {}, [])
    for wmi in broken:
        assert computed.cpu_model("windows", wmi) == ["unknown cpu model"]
        assert computed.graphics("windows", wmi) == "Graphics info requires agent v1.4.14"
        assert computed.local_ips("windows", wmi) == "error getting local ips"
        assert computed.make_model("windows", wmi) == "unknown make/model"
        assert computed.physical_disks("windows", wmi) == ["unknown disk"]
        assert computed.serial_number("windows", wmi) == ""
        assert computed.graphics("linux", wmi) == "Error getting graphics cards"
        assert computed.make_model("darwin", wmi) == "error getting make/model"
    posix = {"cpus": ["Apple M1"], "gpus": [], "disks": ["d"], "local_ips": ["10.20.0.15/24", "fe80::1/64"],
             "make_model": "Macmini9,1"}
    assert computed.graphics("darwin", posix) == "No graphics cards"
    assert computed.local_ips("darwin", posix) == "10.20.0.15/24, fe80::1/64"
    assert computed.serial_number("darwin", posix) == ""  # old agents: no serialnumber key
    assert computed.cpu_model("linux", posix) == ["Apple M1"] and computed.make_model("linux", posix) == "Macmini9,1"
    assert computed.hex_mesh_node_id("ff" * 48) == "$" * 64 and computed.hex_mesh_node_id(None) == "error"


# ---------------------------------------------------------------------------------------------
# Alerts (§6)
# ---------------------------------------------------------------------------------------------
async def test_alerts_top_mode(sim: Sim) -> None:
    fleet = sim.fleet
    active = sorted((a for a in fleet.alerts.values() if not (a.resolved or a.snoozed or a.hidden)),
                    key=lambda a: (a.alert_time, a.id))
    r = await sim.http.patch("/alerts/", json={"top": 0})
    assert r.json() == {"alerts_count": len(active), "alerts": []}
    r = await sim.http.patch("/alerts/", json={"top": "5"})
    body = r.json()
    assert body["alerts_count"] == len(active)
    assert [a["id"] for a in body["alerts"]] == [a.id for a in active[:5]]
    r = await sim.http.patch("/alerts/", data={"top": "3"})  # form-encoded works too
    assert len(r.json()["alerts"]) == 3


async def test_alerts_filter_and_history_modes(sim: Sim) -> None:
    fleet = sim.fleet
    everything = (await sim.http.patch("/alerts/", json={})).json()
    assert isinstance(everything, list) and len(everything) == len(fleet.alerts)
    assert (await sim.http.patch("/alerts/", json={"status": "active"})).json() == everything

    unresolved = (await sim.http.patch("/alerts/", json={"resolvedFilter": False})).json()
    assert {a["id"] for a in unresolved} == {a.id for a in fleet.alerts.values() if not a.resolved}
    assert any(a["hidden"] for a in unresolved) and any(a["snoozed"] for a in unresolved)
    assert len((await sim.http.patch("/alerts/", json={"resolvedFilter": True})).json()) == len(fleet.alerts)
    assert len((await sim.http.patch("/alerts/", json={"resolvedFilter": "false"})).json()) == len(fleet.alerts)

    in_client = (await sim.http.patch("/alerts/", json={"clientFilter": [1], "resolvedFilter": False})).json()
    expected = {a.id for a in fleet.alerts.values() if a.agent_pk and not a.resolved
                and fleet.client_id_of(fleet.agents[a.agent_pk]) == 1}
    assert {a["id"] for a in in_client} == expected and expected
    assert (await sim.http.patch("/alerts/", json={"clientFilter": []})).json() == []
    errors = (await sim.http.patch("/alerts/", json={"severityFilter": ["error"]})).json()
    assert errors and {a["severity"] for a in errors} == {"error"}
    assert (await sim.http.patch("/alerts/", json={"severityFilter": []})).json() == []

    week = (await sim.http.patch("/alerts/", json={"timeFilter": "7"})).json()
    assert {a["id"] for a in week} == {a.id for a in fleet.alerts.values()
                                       if NOW - timedelta(days=7) < a.alert_time <= NOW}
    assert (await sim.http.patch("/alerts/", json={"timeFilter": 0.5})).json() == []
    for body in ({"clientFilter": 5}, {"timeFilter": "abc"}, {"top": "x"}):
        r = await sim.http.patch("/alerts/", json=body)
        assert r.status_code == 500 and HTML_500_MARK in r.text


async def test_alert_objects_match_the_vendor_shape(sim: Sim) -> None:
    everything = (await sim.http.patch("/alerts/", json={})).json()
    agent_alert = next(a for a in everything if a["alert_type"] == "check")
    assert list(agent_alert) == [
        "id", "hostname", "agent_id", "client", "site", "alert_time", "alert_type", "message", "snoozed",
        "snooze_until", "resolved", "resolved_on", "severity", "email_sent", "resolved_email_sent", "sms_sent",
        "resolved_sms_sent", "hidden", "action_run", "action_stdout", "action_stderr", "action_retcode",
        "action_execution_time", "resolved_action_run", "resolved_action_stdout", "resolved_action_stderr",
        "resolved_action_retcode", "resolved_action_execution_time", "agent", "assigned_check", "assigned_task",
    ]
    agent = sim.fleet.agents[agent_alert["agent"]]
    assert agent_alert["client"] == sim.fleet.client_of(agent).name
    assert agent_alert["site"] == sim.fleet.sites[agent.site_id].name
    assert re.fullmatch(r".+ has a \w+ check: .+ that failed\.", agent_alert["message"])
    custom = next(a for a in everything if a["alert_type"] == "custom")
    assert not {"hostname", "agent_id", "client", "site"} & set(custom) and custom["agent"] is None
    availability = next(a for a in everything if a["alert_type"] == "availability")
    assert availability["severity"] == "error" and availability["message"].endswith(" is overdue.")
    task = next(a for a in everything if a["alert_type"] == "task")
    assert " has task: " in task["message"] and isinstance(task["assigned_task"], int)


async def test_single_alert_endpoints(sim: Sim) -> None:
    alert = next(a for a in sim.fleet.alerts.values() if a.is_open and a.agent_pk)
    r = await sim.http.get(f"/alerts/{alert.id}/")
    assert r.json()["id"] == alert.id
    r = await sim.http.get("/alerts/999999/")
    assert (r.status_code, r.json()) == (404, {"detail": "No Alert matches the given query."})

    r = await sim.http.put(f"/alerts/{alert.id}/", json={"type": "snooze"})
    assert (r.status_code, r.json()) == (400, "Missing 'snoozed_days' when trying to snooze alert")
    r = await sim.http.put(f"/alerts/{alert.id}/", json={"type": "snooze", "snooze_days": 3})
    assert r.json() == "ok" and alert.snoozed and alert.snooze_until == NOW + timedelta(days=3)
    await sim.http.put(f"/alerts/{alert.id}/", json={"type": "unsnooze"})
    assert not alert.snoozed and alert.snooze_until is None
    r = await sim.http.put(f"/alerts/{alert.id}/", json={"type": "close"})
    assert (r.status_code, r.json()) == (400, "There was an error in the request data")
    await sim.http.put(f"/alerts/{alert.id}/", json={"type": "resolve"})
    body = (await sim.http.get(f"/alerts/{alert.id}/")).json()
    assert body["resolved"] is True and body["resolved_on"] == NOW.isoformat().replace("+00:00", "Z")
    r = await sim.anon.put(f"/alerts/{alert.id}/", json={"type": "resolve"},
                           headers={"X-API-KEY": "VIEWERKEY0000000000000000000000A"})
    assert r.status_code == 403  # can_manage_alerts needed

    ids = [a.id for a in sim.fleet.alerts.values() if a.is_open][:3]
    r = await sim.anon.post("/alerts/bulk/", json={"bulk_action": "resolve", "alerts": ids},
                            headers={"X-API-KEY": "MANAGERKEY000000000000000000000A"})
    assert r.json() == "ok" and all(sim.fleet.alerts[i].resolved for i in ids)


# ---------------------------------------------------------------------------------------------
# Software (§7)
# ---------------------------------------------------------------------------------------------
async def test_software_list_shape(sim: Sim) -> None:
    r = await sim.http.get("/software/")
    rows = json.loads(r.content)
    fleet = sim.fleet
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)
    assert len({row["agent"] for row in rows}) == len(rows)
    assert all(fleet.agents[row["agent"]].plat == "windows" for row in rows)
    assert all(list(row) == ["id", "agent", "software"] for row in rows)
    items = [item for row in rows for item in row["software"]]
    full = [i for i in items if len(i) == 8]
    assert all(list(i) == ["name", "size", "source", "version", "location", "publisher", "uninstall",
                           "install_date"] for i in full)
    assert any(list(i) == ["name", "version"] for i in items)  # very old agents
    dates = {i["install_date"] for i in full}
    assert "0001-01-01 00:00:00 +0000 UTC" in dates and "01-1-01" in dates
    assert any(re.fullmatch(r"\d{4}-\d{2}-\d{2} 00:00:00 \+0000 UTC", d) for d in dates)
    assert any(re.fullmatch(r"\d{4}-\d{1,2}-\d{2}", d) and d != "01-1-01" for d in dates)
    sizes = {i["size"] for i in full}
    assert "0 B" in sizes and any(re.fullmatch(r"\d+\.\d (kB|MB|GB)", s) for s in sizes)
    assert any(Counter(i["name"] for i in row["software"]).most_common(1)[0][1] > 1 for row in rows)


async def test_software_is_streamed_in_chunks(clock: Clock) -> None:
    app = create_app(generate_fleet(seed=4, clients=5, agents=1200, now=NOW), clock=clock)
    messages: list[MutableMapping[str, Any]] = []
    scope = {"type": "http", "method": "GET", "path": "/software/", "raw_path": b"/software/", "query_string": b"",
             "headers": [(b"host", b"api.example.com"), (b"x-api-key", DEFAULT_API_KEY.encode())],
             "scheme": "https", "server": ("api.example.com", 443), "client": ("127.0.0.1", 5000),
             "http_version": "1.1", "root_path": ""}

    delivered = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if delivered.is_set():
            await asyncio.Event().wait()  # the client stays connected
        delivered.set()
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = messages[0]
    assert start["status"] == 200
    assert b"content-length" not in dict(start["headers"])
    chunks = [m["body"] for m in messages[1:] if m.get("body")]
    assert len(chunks) > 3
    rows = json.loads(b"".join(chunks))
    assert len(rows) == sum(1 for a in app.fleet.agents.values() if a.software_id is not None)


async def test_software_for_one_agent(sim: Sim) -> None:
    fleet = sim.fleet
    win = next(a for a in fleet.agents.values() if a.software_id is not None)
    r = await sim.http.get(f"/software/{win.agent_id}/")
    body = r.json()
    assert body["agent"] == win.pk and body["id"] == win.software_id and body["software"]
    linux = next(a for a in fleet.agents.values() if a.plat == "linux")
    assert (await sim.http.get(f"/software/{linux.agent_id}/")).json() == []
    r = await sim.http.get(f"/software/{'x' * 40}/")
    assert (r.status_code, r.json()) == (404, {"detail": "No Agent matches the given query."})
    r = await sim.http.get(f"/software/{'x' * 20}/")
    assert r.status_code == 404 and HTML_404_MARK in r.text
    r = await sim.http.put(f"/software/{win.agent_id}/")
    assert (r.status_code, r.json()) == (400, "Unable to contact the agent")
    r = await sim.http.put(f"/software/{linux.agent_id}/")
    assert (r.status_code, r.json()) == (400, "Not available for linux")


# ---------------------------------------------------------------------------------------------
# Fault injection
# ---------------------------------------------------------------------------------------------
async def test_status_fault_on_one_page_then_recovers(sim: Sim) -> None:
    sim.app.faults.add(Fault("status", path_contains="/beta/v1/agent/", query_contains="page=3", times=1))
    assert (await sim.http.get("/beta/v1/agent/", params={"page": 2})).status_code == 200
    r = await sim.http.get("/beta/v1/agent/", params={"page": 3})
    assert r.status_code == 500 and HTML_500_MARK in r.text
    assert (await sim.http.get("/beta/v1/agent/", params={"page": 3})).status_code == 200
    sim.app.faults.add(Fault("status", status=503, path_contains="/alerts/", times=1))
    r = await sim.http.patch("/alerts/", json={"top": 0})
    assert r.status_code == 503 and r.json() == {"detail": "Service Unavailable."}


async def test_slow_and_rate_limit_faults(sim: Sim) -> None:
    sim.app.faults.add(Fault("slow", delay_s=0.2, path_contains="/beta/v1/client/", times=1))
    started = time.perf_counter()
    assert (await sim.http.get("/beta/v1/client/")).status_code == 200
    assert time.perf_counter() - started >= 0.2
    sim.app.faults.add(Fault("rate_limit", retry_after_s=7, method="PATCH", times=1))
    r = await sim.http.patch("/alerts/", json={"top": 0})
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    assert r.json() == {"detail": "Request was throttled. Expected available in 7 seconds."}


async def test_truncate_and_malformed_faults(sim: Sim) -> None:
    whole = (await sim.http.get("/beta/v1/site/")).content
    sim.app.faults.add(Fault("truncate", path_contains="/beta/v1/site/", times=1))
    cut = (await sim.http.get("/beta/v1/site/")).content
    assert cut == whole[: len(whole) // 2]
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut)
    sim.app.faults.add(Fault("truncate", path_contains="/software/", times=1))
    stream = (await sim.http.get("/software/")).content
    assert stream.startswith(b"[") and not stream.endswith(b"]")
    with pytest.raises(json.JSONDecodeError):
        json.loads(stream)
    sim.app.faults.add(Fault("malformed", path_contains="/beta/v1/agent/", times=1))
    r = await sim.http.get("/beta/v1/agent/")
    assert r.status_code == 200 and r.content == MALFORMED_BODY


async def test_expire_token_fault(sim: Sim) -> None:
    token = (await sim.anon.post("/v2/checkcreds/", json={"username": CREDS.username,
                                                          "password": CREDS.password})).json()["token"]
    auth = {"Authorization": f"Token {token}"}
    assert (await sim.anon.get("/beta/v1/client/", headers=auth)).status_code == 200
    sim.app.faults.add(Fault("expire_token", path_contains="/beta/v1/", times=1))
    r = await sim.anon.get("/beta/v1/client/", headers=auth)
    assert (r.status_code, r.json()) == (401, {"detail": "Invalid token."})
    assert (await sim.anon.get("/beta/v1/client/", headers=auth)).status_code == 401


# ---------------------------------------------------------------------------------------------
# Control API, performance, serve()
# ---------------------------------------------------------------------------------------------
async def test_control_api_steers_a_running_simulator(sim: Sim) -> None:
    state = (await sim.anon.get("/_sim/state")).json()
    assert state["agents"] == len(sim.fleet.agents) and state["now"] == NOW.isoformat().replace("+00:00", "Z")
    assert sum(state["agent_status"].values()) == len(sim.fleet.agents)

    r = await sim.anon.post("/_sim/faults", json={"kind": "status", "status": 502, "path_contains": "/beta/"})
    assert r.json()["faults"][0]["status"] == 502
    assert (await sim.http.get("/beta/v1/client/")).status_code == 502
    await sim.anon.delete("/_sim/faults")
    assert (await sim.http.get("/beta/v1/client/")).status_code == 200

    online = next(a for a in sim.fleet.agents.values() if a.last_seen and status_of(a, NOW) == "online")
    await sim.anon.post("/_sim/clock", json={"advance_s": 3600})
    assert (await sim.http.get(f"/beta/v1/agent/{online.pk}/")).json()["status"] == "overdue"

    await sim.anon.post("/_sim/settings", json={"beta_api_enabled": False})
    assert (await sim.http.get("/beta/v1/client/")).status_code == 404
    await sim.anon.post("/_sim/settings", json={"beta_api_enabled": True})

    created = (await sim.anon.post("/_sim/agents", json={"site": 2})).json()
    assert (await sim.http.get(f"/beta/v1/agent/{created['id']}/")).json()["agent_id"] == created["agent_id"]
    await sim.anon.post(f"/_sim/agents/{created['id']}", json={"site": 7})
    assert (await sim.http.get(f"/beta/v1/agent/{created['id']}/")).json()["site"] == 7
    await sim.anon.delete(f"/_sim/agents/{created['id']}")
    assert (await sim.http.get(f"/beta/v1/agent/{created['id']}/")).status_code == 404
    r = await sim.anon.post("/_sim/faults", json={"kind": "status", "bogus": 1})
    assert r.status_code == 400


async def test_page_of_1000_agents_is_fast() -> None:
    fleet = generate_fleet(seed=2, clients=20, agents=1500, now=NOW)
    app = create_app(fleet, clock=lambda: NOW)
    async with http_client(app, headers={"X-API-KEY": DEFAULT_API_KEY}) as client:
        started = time.perf_counter()
        r = await client.get("/beta/v1/agent/", params={"page_size": 1000})
        elapsed = time.perf_counter() - started
        assert len(r.json()["results"]) == 1000
        assert len(r.content) > 5_000_000  # ~10 KB light rows, built fresh (nothing cached yet)
        assert elapsed < 1.5, f"a 1000-agent page took {elapsed:.2f}s"
        r = await client.get("/beta/v1/agent/", params={"page_size": 1000, "page": 2})
        assert [row["id"] for row in r.json()["results"]] == list(range(1001, 1501))


async def test_credentials_are_deterministic_and_serve_prints_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert credentials_for_seed(1) == DEFAULT_CREDENTIALS and credentials_for_seed(2) != DEFAULT_CREDENTIALS
    assert re.fullmatch(r"[A-Z0-9]{32}", DEFAULT_CREDENTIALS.api_key)
    assert re.fullmatch(r"[A-Z2-7]{32}", DEFAULT_CREDENTIALS.totp_secret)
    captured: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        captured.update(app=app, **kwargs)

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", fake_run)
    serve(port=8123, seed=3, clients=2, agents=30)
    creds = credentials_for_seed(3)
    out = capsys.readouterr().out
    for text in ("http://127.0.0.1:8123", creds.api_key, creds.username, creds.password, creds.totp_username,
                 creds.totp_password, creds.totp_secret):
        assert text in out
    code = re.search(r"code now: (\d{6})", out)
    assert code and verify_totp(creds.totp_secret, code.group(1), datetime.now(UTC))
    assert captured["port"] == 8123 and len(captured["app"].fleet.agents) == 30

    async with http_client(captured["app"], headers={"X-API-KEY": creds.api_key}) as client:
        assert (await client.get("/beta/v1/client/")).status_code == 200
