"""The Tactical webhook receiver against a corpus of malformed, hostile and edge-case deliveries.

Each case is sent over the real HTTP stack; each must get its expected status (never a 500), and
afterwards the database holds exactly the expected alerts.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from rmmbridge.storage.models import RmmAlert
from rmmbridge.sync.runner import runner_of
from tests.conftest import map_all, run_sync
from tests.providers.tacticalrmm.test_sync_flow import check_connection, connect

URL = "/api/webhooks/tacticalrmm"


@dataclass
class Case:
    name: str
    body: bytes | str | dict[str, Any] | list[Any] | None
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    secret: str | None = "SECRET"  # "SECRET" → the integration's secret; None → no header
    header: str = "X-Webhook-Secret"
    method: str = "POST"
    path: str = URL


def _payload(agent: Any, **over: Any) -> dict[str, Any]:
    base = {
        "event": "trigger",
        "alert_id": "9001",
        "alert_type": "check",
        "severity": "error",
        "alert_time": "2026-11-23 10:58:03.407861+00:00",
        "agent_id": agent.agent_id,
        "agent_pk": str(agent.pk),
        "hostname": agent.hostname,
        "message": "Disk space check failed",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


def corpus(agent: Any, other: Any) -> tuple[list[Case], set[str], dict[str, str]]:
    """The cases, the alert ids that must exist afterwards, and their final statuses."""
    p = lambda **o: _payload(agent, **o)  # noqa: E731
    py_style = (
        "{'event': 'trigger', 'alert_id': 9010, 'alert_type': 'availability', 'severity': 'warning', "
        f"'alert_time': '2026-11-23 10:00:00+00:00', 'agent_id': '{agent.agent_id}', 'agent_pk': {agent.pk}, "
        "'resolved': False, 'snoozed': None}"
    )
    py_keywords = json.dumps(p(alert_id="9021")).replace('"message"', '"resolved": False, "snoozed": None, "message"')
    code = "{'agent_id': __import__('os').system('true'), 'alert_id': 1}"
    cases = [
        # --- authentication and transport
        Case("no secret header", p(), 401, secret=None),
        Case("wrong secret", p(), 401, secret="whs_wrong"),
        Case("empty secret", p(), 401, secret=""),
        Case("huge secret", p(), 401, secret="x" * 600),
        Case("secret of another provider's path", p(), 404, path="/api/webhooks/nosuchrmm"),
        Case("GET instead of POST", None, 405, method="GET"),
        Case("body over 64 KiB", {"agent_id": agent.agent_id, "message": "x" * (70 * 1024)}, 413),
        Case("declared length over limit", b"{}", 413, headers={"content-length": str(10**9)}),
        # --- the happy paths, each must land
        Case("trigger", p(), 202),
        Case("redelivery of the trigger", p(), 202),
        Case("alias header", p(alert_id="9002"), 202, header="X-Alga-Webhook-Secret"),
        Case("secret with whitespace", p(alert_id="9003"), 202, secret=" SECRET "),
        Case("resolve of 9001", p(event="resolve", resolved_on="2026-11-23 11:00:00+00:00"), 202),
        Case("resolve redelivered", p(event="resolve"), 202),
        Case("double-encoded JSON", json.dumps(json.dumps(p(alert_id="9004"))), 202),
        Case("no content type", json.dumps(p(alert_id="9005")).encode(), 202, headers={"content-type": ""}),
        Case("text/plain", json.dumps(p(alert_id="9006")), 202, headers={"content-type": "text/plain"}),
        Case(
            "form content type but JSON",
            json.dumps(p(alert_id="9007")),
            202,
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
        Case("python-style dict", py_style, 202),
        Case("python keywords inside JSON", py_keywords, 202),
        Case("python code is never evaluated", code, 422),
        Case("severity missing", p(alert_id="9011", severity=...), 202),
        Case("severity unknown word", p(alert_id="9012", severity="catastrophic"), 202),
        Case("unicode message", p(alert_id="9013", message="Festplatte voll — 💾 99 %"), 202),
        Case("extra unknown fields", {**p(alert_id="9014"), "foo": {"bar": [1, 2]}}, 202),
        Case("integer alert id", {**p(), "alert_id": 9015}, 202),
        Case("None strings from Tactical", p(alert_id="9016", check_id="None", task_id="None", hostname="None"), 202),
        Case("agent of an unmapped client", _payload(other, alert_id="9017"), 202),
        Case("no alert id: derived", p(alert_id=..., alert_type="availability"), 202),
        Case("resolve before trigger", p(alert_id="9018", event="resolve"), 202),
        Case("NUL characters in strings", p(alert_id="9022", message="disk\u0000full", hostname="PC\u0000"), 202),
        Case("utf-8 BOM", b"\xef\xbb\xbf" + json.dumps(p(alert_id="9019")).encode(), 202),
        Case("whitespace around JSON", "\n\n  " + json.dumps(p(alert_id="9020")) + "  \n", 202),
        # --- malformed payloads: 422 with a reason, nothing stored
        Case("empty body", b"", 422),
        Case("only whitespace", b"   \n", 422),
        Case("null", "null", 422),
        Case("JSON array", [p(alert_id="9900")], 422),
        Case("JSON number", "42", 422),
        Case("JSON string of garbage", json.dumps("hello"), 422),
        Case("truncated JSON", json.dumps(p(alert_id="9901"))[:40], 422),
        Case("missing agent_id", p(alert_id="9902", agent_id=...), 422),
        Case("empty agent_id", p(alert_id="9903", agent_id=""), 422),
        Case("agent_id None", p(alert_id="9904", agent_id="None"), 422),
        Case("agent_id far too long", p(alert_id="9905", agent_id="a" * 5000), 422),
        Case("binary garbage", bytes(range(256)), 422),
        Case("deeply nested", "[" * 5000 + "]" * 5000, 422),
        Case("template not rendered", json.dumps(p(alert_id="{{alert.id}}", agent_id="{{agent.agent_id}}")), 422),
        # --- issue #14: no 500 and no wrong data from hostile values
        Case("alert_id of 5,000 digits", p(alert_id="9" * 5000), 422),
        Case("alert_id of 300 digits (longer than the column)", p(alert_id="7" * 300), 422),
        Case("check_id of 4,301 digits", p(alert_id="9907", check_id="1" * 4301), 422),
        Case("agent_pk of 4,400 digits", p(alert_id="9908", agent_pk="2" * 4400), 422),
        Case("client_id of 4,400 digits", p(alert_id="9909", client_id="3" * 4400), 422),
        Case("bare 60,000-digit number", '{"agent_id": "x", "alert_id": ' + "9" * 60_000 + "}", 422),
        Case("trailing }}}", json.dumps(p(alert_id="9910")) + "}}}", 422),
        Case("event RESOLVED!!", p(alert_id="9911", event="RESOLVED!!"), 422),
        Case(
            "double-encoded with a quote in the message (Tactical's fallback)",
            json.dumps(json.dumps(p(alert_id="9023", message="x"))[:-3] + 'Script "Backup" failed"}'),
            202,
        ),
        Case(
            "double-encoded, fields after the message",
            json.dumps(json.dumps(p(alert_id="9912", message="x"))[:-3] + 'say "hi"", "event": "resolve"}'),
            202,
        ),
        Case(
            "SQL in fields (non-numeric id: derived)",
            p(alert_id="9906'; DROP TABLE rmm_alerts;--", message="' OR 1=1"),
            202,
        ),
    ]
    expected = {
        "9001",
        "9002",
        "9003",
        "9004",
        "9005",
        "9006",
        "9007",
        "9010",
        "9011",
        "9012",
        "9013",
        "9014",
        "9015",
        "9016",
        "9017",
        "9018",
        "9019",
        "9020",
        "9021",
        "9022",
        "9023",
        "9912",
    }
    statuses = {"9001": "resolved", "9018": "resolved"}
    return cases, expected, statuses


@pytest.fixture
async def ready(http, state, transport, tenant):
    setup = await connect(http, transport, tenant)
    assert (await check_connection(http, setup))["ok"]
    await run_sync(http, state, setup, "scopes")
    clients = await map_all(http, setup)
    # Unmap one client so that one agent belongs to no PSA client.
    h = tenant.headers()
    mappings = (await http.get(f"/api/v1/integrations/{setup.integration_id}/mappings", headers=h)).json()["items"]
    unmapped = mappings[-1]
    await http.patch(
        f"/api/v1/integrations/{setup.integration_id}/mappings/{unmapped['id']}", headers=h, json={"unmap": True}
    )
    await run_sync(http, state, setup, "devices")
    secret = (await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/rotate", headers=h)).json()[
        "secret"
    ]
    agents = list(setup.fleet.agents.values())
    unmapped_client = int(unmapped["external_org_id"])
    agent = next(a for a in agents if setup.fleet.client_id_of(a) != unmapped_client)
    other = next(a for a in agents if setup.fleet.client_id_of(a) == unmapped_client)
    return setup, secret, agent, other, clients


def _encode(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


async def test_corpus(http, state, ready, db):
    setup, secret, agent, other, _ = ready
    cases, expected, final_status = corpus(agent, other)
    assert len(cases) >= 40
    failures = []
    for case in cases:
        headers = {"content-type": "application/json", **case.headers}
        if case.secret is not None:
            headers[case.header] = case.secret.replace("SECRET", secret)
        if headers.get("content-type") == "":
            headers.pop("content-type")
        r = await http.request(case.method, case.path, content=_encode(case.body), headers=headers)
        if r.status_code != case.status or r.status_code >= 500:
            failures.append(f"{case.name}: expected {case.status}, got {r.status_code} {r.text[:200]}")
        elif r.status_code >= 400 and case.status != 405:
            assert r.headers["content-type"].startswith("application/problem+json"), case.name
            assert r.json()["detail"], case.name
    assert not failures, "\n".join(failures)
    rows = {
        a.external_alert_id: a
        for a in (await db.scalars(select(RmmAlert).where(RmmAlert.tenant_id == setup.tenant.tenant_id))).all()
    }
    derived = {k for k in rows if k.startswith("derived-")}
    assert set(rows) - derived == expected and len(derived) == 2
    for alert_id, status in final_status.items():
        assert rows[alert_id].status == status, alert_id
    assert rows["9001"].asset_id is not None and rows["9001"].severity == "error"
    assert rows["9022"].message == "diskfull"
    assert rows["9023"].message == 'Script "Backup" failed'
    # Salvage never lifts text after the message into a field: the message runs to the end.
    assert rows["9912"].message == 'say "hi"", "event": "resolve' and rows["9912"].status == "active"
    assert rows["9017"].asset_id is None  # its agent's client is not mapped: recorded, unlinked
    assert all(rows[k].status == "active" for k in expected - set(final_status))
    await runner_of(state).wait_all(timeout=60)


async def test_concurrent_duplicate_deliveries(http, state, ready, db):
    setup, secret, agent, _, _ = ready
    body = json.dumps(_payload(agent, alert_id="7777")).encode()
    results = await asyncio.gather(
        *(
            http.post(URL, content=body, headers={"X-Webhook-Secret": secret, "content-type": "application/json"})
            for _ in range(10)
        )
    )
    assert sorted(r.status_code for r in results) == [202] * 10
    assert [r.json()["outcome"] for r in results].count("created") == 1
    rows = (
        await db.scalars(
            select(RmmAlert).where(RmmAlert.tenant_id == setup.tenant.tenant_id, RmmAlert.external_alert_id == "7777")
        )
    ).all()
    assert len(rows) == 1
    # The refresh of the agent ran once for the burst (single flight + debounce).
    runs = (
        await http.get(
            f"/api/v1/sync-runs?kind=agent&integration_id={setup.integration_id}", headers=setup.tenant.headers()
        )
    ).json()
    assert runs["total"] == 1
    await runner_of(state).wait_all(timeout=60)
