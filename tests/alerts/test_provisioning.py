"""One-click webhook provisioning against the Tactical simulator, on SQLite and PostgreSQL: from an
unconfigured Tactical to a delivered test alert in one action, idempotent, a key without the
permission told which one, rotate and disconnect updating Tactical — and real alerts then
delivered by the simulator through the provisioned URL actions."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from rmmbridge.simulators.tacticalrmm.auth import Role
from rmmbridge.storage.models import RmmAlert
from tests.alerts.tactical_setup import Setup, admin_template, connect_tactical


def sim_client(transport: Any, setup: Setup) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, base_url=f"https://{setup.host}")


async def provision(http: Any, setup: Setup, **body: Any) -> dict[str, Any]:
    r = await http.post(
        f"/api/v1/integrations/{setup.integration_id}/webhook/provision", headers=setup.tenant.headers(), json=body
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def fire(transport: Any, setup: Setup, agent_pk: int, **kw: Any) -> dict[str, Any]:
    async with sim_client(transport, setup) as sim:
        r = await sim.post("/_sim/alerts", json={"agent": agent_pk, "alert_type": "check", "severity": "error", **kw})
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]


async def local_alert(db: Any, setup: Setup, external_id: Any) -> RmmAlert | None:
    return await db.scalar(  # type: ignore[no-any-return]
        select(RmmAlert).where(
            RmmAlert.integration_id == uuid.UUID(setup.integration_id),
            RmmAlert.external_alert_id == str(external_id),
        )
    )


async def test_provision_from_unconfigured_to_delivered_alerts(http, transport, app, state, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup = await connect_tactical(http, transport, app, state, tenant)
    template = admin_template(setup)
    actions = setup.sim.actions
    assert not actions.urlactions and not actions.keystore and actions.core["notify_on_info_alerts"] is False

    report = await provision(http, setup)
    assert report["ok"] is True, report
    outcomes = {s["item"]: s["outcome"] for s in report["steps"]}
    assert sorted(outcomes.values()).count("created") == 3, outcomes  # the key and two URL actions
    assert outcomes["alert template “Default”"] == "updated" and outcomes["global alert settings"] == "updated"
    assert report["test_delivered"] is True, report["test_detail"]
    info = report["info"]
    assert info["provisioning"]["provisioned"] is True and info["configured_at"] and info["deliveries_accepted"] == 1

    # Tactical now holds the secret in its key store, referenced (not pasted) by the URL actions.
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/reveal", headers=tenant.headers())
    secret = r.json()["secret"]
    (key,) = actions.keystore.values()
    assert len(key.name) <= 25 and key.value == secret
    assert len(actions.urlactions) == 2
    for action in actions.urlactions.values():
        assert action.pattern == "http://testserver/api/webhooks/tacticalrmm" and action.action_type == "rest"
        assert secret not in action.rest_headers and "{{global." + key.name + "}}" in action.rest_headers
    assert template.action_type == template.resolved_action_type == "rest"
    assert {template.action_rest, template.resolved_action_rest} == set(actions.urlactions)
    assert actions.core["notify_on_info_alerts"] is True

    # A real alert now reaches rmmbridge through Tactical's URL action, and its resolve too.
    agent = next(a for a in setup.fleet.agents.values() if not a.maintenance_mode)
    fired = await fire(transport, setup, agent.pk)
    alert = await local_alert(db, setup, fired["id"])
    assert alert is not None and alert.source == "webhook" and alert.status == "active" and alert.webhook_seen
    async with sim_client(transport, setup) as sim:
        assert (await sim.post(f"/_sim/alerts/{fired['id']}/resolve")).status_code == 200
    await db.refresh(alert)
    assert alert.status == "resolved"
    timeline = (await http.get(f"/api/v1/alerts/{alert.id}/timeline", headers=tenant.headers())).json()
    assert [(e["kind"], e["source"]) for e in timeline] == [("raised", "webhook"), ("resolved", "webhook")]
    assert timeline[0]["payload"] and secret not in timeline[0]["payload"]

    # "Send test alert" on its own: delivered by Tactical, accepted here.
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/test", headers=tenant.headers())
    assert r.status_code == 200 and r.json()["delivered"] is True, r.text
    assert r.json()["info"]["deliveries_accepted"] == 4  # the provisioning test, trigger, resolve, this one

    # Twice: nothing changes.
    again = await provision(http, setup, send_test=False)
    assert again["ok"] and {s["outcome"] for s in again["steps"]} == {"unchanged"}, again["steps"]
    assert len(actions.urlactions) == 2 and len(actions.keystore) == 1


async def test_a_key_without_the_permission_is_told_which(http, transport, app, state, tenant) -> None:  # type: ignore[no-untyped-def]
    role = Role(
        name="no keystore", can_list_clients=True, can_list_sites=True, can_list_agents=True, can_list_alerts=True,
        can_list_software=True, can_view_global_keystore=True,
    )  # fmt: skip
    setup = await connect_tactical(http, transport, app, state, tenant, role=role, sync=False)
    report = await provision(http, setup)
    assert report["ok"] is False
    failed = [s for s in report["steps"] if s["outcome"] == "failed"]
    assert len(failed) == 1 and "can_edit_global_keystore" in failed[0]["detail"], failed
    assert failed[0]["fix"] and "Permissions Manager" in failed[0]["fix"]
    assert not setup.sim.actions.keystore and not setup.sim.actions.urlactions  # nothing half-done
    assert report["info"]["configured_at"] is None


async def test_rotate_and_disconnect_update_tactical(http, transport, app, state, tenant, db) -> None:  # type: ignore[no-untyped-def]
    setup = await connect_tactical(http, transport, app, state, tenant)
    admin_template(setup)
    assert (await provision(http, setup))["ok"]
    h = tenant.headers()
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/rotate", headers=h)
    assert r.status_code == 200, r.text
    new_secret = r.json()["secret"]
    assert r.json()["rmm_update"]["steps"][0]["outcome"] == "updated"
    (key,) = setup.sim.actions.keystore.values()
    assert key.value == new_secret
    agent = next(a for a in setup.fleet.agents.values() if not a.maintenance_mode)
    fired = await fire(transport, setup, agent.pk)
    assert (await local_alert(db, setup, fired["id"])) is not None  # delivered with the new secret

    r = await http.post(
        f"/api/v1/integrations/{setup.integration_id}/disconnect", headers=h, json={"remove_webhook": True}
    )
    assert r.status_code == 200, r.text
    assert not setup.sim.actions.urlactions and not setup.sim.actions.keystore
    assert setup.sim.actions.templates[1].action_rest is None  # Tactical's SET_NULL
