"""Alert routing rules: a table of rules against a fixture of alerts, then the same rules through
the REST API and the dispatcher (with the grouping window), and the dry run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from rmmbridge.delivery import routing
from rmmbridge.events.outbox import event_row, write_events
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import AlertRoute, Asset, RmmAlert

from .support import drain

S_TICKETS, S_CHAT, S_ONCALL = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
ACME = str(uuid.uuid4())
MON_10 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # a Monday, 11:00 in Berlin
SUN_03 = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
OFFICE = {"timezone": "Europe/Berlin", "days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00", "inside": True}


def rule(position: int, subs: list[uuid.UUID], stop: bool = True, **match) -> AlertRoute:
    return AlertRoute(
        id=uuid.uuid4(),
        position=position,
        name=f"r{position}",
        enabled=match.pop("enabled", True),
        severities=match.pop("severities", []),
        alert_types=match.pop("alert_types", []),
        client_ids=match.pop("client_ids", []),
        device_name_pattern=match.pop("pattern", None),
        business_hours=match.pop("hours", {}),
        subscription_ids=[str(s) for s in subs],
        stop_after_match=stop,
        group_window_s=0,
    )


RULES = [
    rule(10, [S_ONCALL], hours={**OFFICE, "inside": False}, severities=["critical"], stop=False),
    rule(20, [S_TICKETS, S_CHAT], severities=["critical", "error"], client_ids=[ACME]),
    rule(30, [S_TICKETS], alert_types=["disk"], pattern="SRV-*"),
    rule(40, [S_CHAT], severities=["warning"], hours=OFFICE),
    rule(50, [S_CHAT], enabled=False),
]


def facts(severity="info", alert_type=None, client=None, device="pc-1", at=MON_10) -> routing.AlertFacts:
    return routing.AlertFacts(severity, alert_type, client, device, at)


@pytest.mark.parametrize(
    ("alert", "expected"),
    [
        (facts("critical", client=ACME), [S_TICKETS, S_CHAT]),  # office hours: no on-call
        (facts("critical", client=ACME, at=SUN_03), [S_ONCALL, S_TICKETS, S_CHAT]),  # on-call does not stop
        (facts("critical", at=SUN_03), [S_ONCALL]),  # another client: only on-call
        (facts("error", client=ACME, alert_type="disk", device="srv-db1"), [S_TICKETS, S_CHAT]),  # stop at 20
        (facts("info", alert_type="disk", device="srv-db1"), [S_TICKETS]),  # pattern is case-insensitive
        (facts("info", alert_type="disk", device="pc-db1"), []),
        (facts("warning"), [S_CHAT]),
        (facts("warning", at=SUN_03), []),  # outside business hours
        (facts("info"), []),  # the disabled catch-all matches nothing
    ],
)
def test_rules_table(alert, expected):
    assert [sid for _, sid in routing.route(RULES, alert)] == expected


def test_business_hours_validation():
    assert routing.BusinessHours.parse({}) is None
    for bad in ({"timezone": "Mars/Base"}, {"days": [7]}, {"start": "8am"}):
        with pytest.raises(ValueError):
            routing.BusinessHours.parse(bad)


def test_business_hours_across_midnight():
    """start >= end is a window across midnight (owned by the day it opens on); equal is 24 hours.
    Before: a 422 for a body the schema allowed (issue #14, schema honesty)."""
    night = routing.BusinessHours.parse({"timezone": "UTC", "days": [4], "start": "22:00", "end": "06:00"})
    assert night is not None
    fri, sat = datetime(2026, 12, 4, tzinfo=UTC), datetime(2026, 12, 5, tzinfo=UTC)  # Friday, Saturday
    assert night.contains(fri + timedelta(hours=23)) and night.contains(sat + timedelta(hours=3))
    assert not night.contains(fri + timedelta(hours=3))  # Friday 03:00 belongs to Thursday's night
    assert not night.contains(sat + timedelta(hours=6)) and not night.contains(sat + timedelta(hours=23))
    whole = routing.BusinessHours.parse({"days": [0], "start": "09:00", "end": "09:00"})
    assert whole is not None and whole.contains(MON_10) and whole.contains(MON_10 + timedelta(hours=22))
    assert not whole.contains(MON_10 - timedelta(hours=2))  # Monday 08:00: Sunday's window


async def _asset(state, tenant_id, name: str, client_id: str | None) -> uuid.UUID:
    asset_id = uuid.uuid4()
    async with unit_of_work(state.sessionmaker) as s:
        s.add(
            Asset(
                tenant_id=tenant_id,
                id=asset_id,
                name=name,
                asset_type="server",
                client_id=uuid.UUID(client_id) if client_id else None,
            )
        )
    return asset_id


async def _alert_event(state, tenant_id, alert_id, asset_id, severity: str, alert_type: str = "disk") -> str:
    row = event_row(
        tenant_id,
        "alert.triggered",
        "alert",
        alert_id,
        {
            "integration_id": str(uuid.uuid4()),
            "asset_id": str(asset_id),
            "severity": severity,
            "alert_type": alert_type,
            "message": "Disk C: 95% full",
        },
        state.clock(),
    )
    async with unit_of_work(state.sessionmaker) as s:
        await write_events(s, [row])
    return str(row["id"])


async def test_rules_route_alerts_and_group_retriggers(http, state, tenant, worker, clock):
    from .support import Receiver

    h = tenant.headers()
    client = (await http.post("/api/v1/clients", json={"name": f"Acme {uuid.uuid4().hex[:6]}"}, headers=h)).json()
    with Receiver() as tickets, Receiver() as chat, Receiver() as everything:
        subs = {}
        for name, rcv in (("tickets", tickets), ("chat", chat), ("all", everything)):
            r = await http.post("/api/v1/webhook-subscriptions", json={"name": name, "url": rcv.url}, headers=h)
            subs[name] = r.json()["subscription"]["id"]
        r = await http.post(
            "/api/v1/alert-routes",
            headers=h,
            json={
                "name": "acme critical → tickets + chat",
                "severities": ["critical"],
                "client_ids": [client["id"]],
                "subscription_ids": [subs["tickets"], subs["chat"]],
                "group_window_s": 600,
            },
        )
        assert r.status_code == 201, r.text
        r = await http.post(
            "/api/v1/alert-routes",
            headers=h,
            json={"name": "servers → chat", "device_name_pattern": "srv-*", "subscription_ids": [subs["chat"]]},
        )
        assert r.status_code == 201, r.text
        bad = await http.post(
            "/api/v1/alert-routes", headers=h, json={"name": "x", "subscription_ids": [str(uuid.uuid4())]}
        )
        # Well formed, but names a subscription that does not exist now: 409 missing-reference.
        assert bad.status_code == 409 and bad.json()["type"].endswith("missing-reference"), bad.text
        assert bad.json()["errors"][0]["field"] == "subscription_ids"
        server = await _asset(state, tenant.tenant_id, "SRV-01", client["id"])
        laptop = await _asset(state, tenant.tenant_id, "lap-7", None)
        alert = uuid.uuid4()
        first = await _alert_event(state, tenant.tenant_id, alert, server, "critical")
        other = await _alert_event(state, tenant.tenant_id, uuid.uuid4(), laptop, "critical")
        await drain(worker)
        # Routed subscriptions get alerts only through rules; the unrouted one gets everything.
        assert list(tickets.ids()) == [first] and list(chat.ids()) == [first]
        assert sorted(everything.ids()) == sorted([first, other])
        # A re-trigger of the same alert within the window is grouped for the rule's subscriptions.
        clock.advance(minutes=5)
        again = await _alert_event(state, tenant.tenant_id, alert, server, "critical")
        await drain(worker)
        assert again not in tickets.ids() and again not in chat.ids() and again in everything.ids()
        log = (await http.get(f"/api/v1/webhook-subscriptions/{subs['tickets']}/deliveries", headers=h)).json()
        grouped = next(d for d in log["items"] if d["event_id"] == again)
        assert grouped["status"] == "grouped" and grouped["route_id"]
        clock.advance(minutes=11)
        later = await _alert_event(state, tenant.tenant_id, alert, server, "critical")
        await drain(worker)
        assert later in tickets.ids() and later in chat.ids()
        # A Slack-style body is what each format's receiver sees; ours are standard here.
        routes = (await http.get("/api/v1/alert-routes", headers=tenant.headers("viewer"))).json()
        assert [r["name"] for r in routes] == ["acme critical → tickets + chat", "servers → chat"]


async def test_dry_run_over_recent_alerts(http, state, tiny, clock):
    h = tiny.tenant.headers()
    tenant_id = tiny.tenant.tenant_id
    r = await http.post("/api/v1/webhook-subscriptions", json={"name": "x", "url": "https://example.com/h"}, headers=h)
    sub = r.json()["subscription"]["id"]
    server = await _asset(state, tenant_id, "srv-9", None)
    async with unit_of_work(state.sessionmaker) as s:
        for i, (sev, kind) in enumerate([("critical", "disk"), ("warning", "disk"), ("critical", "cpu")]):
            s.add(
                RmmAlert(
                    tenant_id=tenant_id,
                    integration_id=uuid.UUID(tiny.integration_id),
                    external_alert_id=f"dry-{i}-{uuid.uuid4().hex[:6]}",
                    asset_id=server,
                    severity=sev,
                    status="active",
                    alert_type=kind,
                    source="poll",
                    raised_at=clock.now - timedelta(hours=1),
                    first_seen_at=clock.now - timedelta(hours=1),
                    last_seen_at=clock.now - timedelta(hours=1),
                )
            )
    candidate = {
        "name": "critical disks",
        "severities": ["critical"],
        "alert_types": ["disk"],
        "subscription_ids": [sub],
    }
    r = await http.post("/api/v1/alert-routing/dry-run", json={"rule": candidate}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["checked"] == 3 and len(body["matched"]) == 1
    assert body["matched"][0]["asset_name"] == "srv-9" and body["matched"][0]["subscriptions"] == [sub]
    r = await http.post(
        "/api/v1/alert-routing/dry-run",
        json={"rule": {**candidate, "business_hours": {"timezone": "Nowhere/Land"}}},
        headers=h,
    )
    assert r.status_code == 422  # not a zone this server knows: the document lists them (an enum)
    assert "Europe/Berlin" in (await http.get("/api/v1/openapi.json")).text
    r = await http.post(
        "/api/v1/alert-routing/dry-run",
        json={"rule": {**candidate, "business_hours": {"start": "22:00", "end": "06:00"}}},
        headers=h,
    )
    assert r.status_code == 200, r.text  # across midnight: a valid window, no longer a 422
