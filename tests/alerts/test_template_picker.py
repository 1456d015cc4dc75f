"""The alert templates offered for webhook provisioning, read live from the Tactical simulator over
HTTP (SQLite and PostgreSQL): which mapped clients each applies to, the default choice, an
explicit pick attaching exactly the picked templates, and Tactical's refusals in plain words."""

from __future__ import annotations

from typing import Any

from rmmbridge.simulators.faults import Fault
from tests.alerts.tactical_setup import connect_tactical


async def templates(http: Any, setup: Any) -> dict[str, Any]:
    r = await http.get(f"/api/v1/integrations/{setup.integration_id}/webhook/templates", headers=setup.tenant.headers())
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_templates_listed_with_what_they_apply_to_and_a_pick_is_exact(http, transport, app, state, tenant) -> None:  # type: ignore[no-untyped-def]
    setup = await connect_tactical(http, transport, app, state, tenant)
    actions = setup.sim.actions
    first, second = sorted(setup.fleet.clients)
    default = actions.add_template("Default", default=True)
    own = actions.add_template("Client one", clients={first})
    retired = actions.add_template("Retired", is_active=False)
    foreign = actions.add_template("Scripted", clients={second}, action=7)  # runs a script of the admin's

    listed = {t["id"]: t for t in (await templates(http, setup))["templates"]}
    assert listed[str(default.id)]["default"] is True
    # Each client runs its own template, so the default applies to no mapped client.
    assert listed[str(default.id)]["applies_to"] == [] and listed[str(default.id)]["in_default"] is False
    assert listed[str(own.id)]["applies_to"] == [str(first)]
    assert listed[str(foreign.id)]["applies_to"] == [str(second)]
    assert listed[str(retired.id)]["active"] is False and listed[str(retired.id)]["in_default"] is False

    # A client's own template switched off: that client falls back to the default.
    own.is_active = False
    listed = {t["id"]: t for t in (await templates(http, setup))["templates"]}
    assert listed[str(default.id)]["applies_to"] == [str(first)] and listed[str(default.id)]["preselected"]
    assert listed[str(own.id)]["in_default"] is False
    own.is_active = True
    listed = {t["id"]: t for t in (await templates(http, setup))["templates"]}
    assert listed[str(own.id)]["in_default"] and listed[str(own.id)]["preselected"]
    # In the default choice, but not ticked: attaching would replace the admin's own script.
    assert listed[str(foreign.id)]["in_default"] and not listed[str(foreign.id)]["preselected"]
    assert listed[str(foreign.id)]["action"] and listed[str(foreign.id)]["ours"] is False

    # An explicit pick attaches exactly that template, nothing else.
    h = tenant.headers()
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/provision", headers=h,
                        json={"template_ids": [str(own.id)], "send_test": False})  # fmt: skip
    assert r.status_code == 200 and r.json()["ok"], r.text
    assert [t.id for t in actions.templates.values() if t.action_rest is not None] == [own.id]
    listed = {t["id"]: t for t in (await templates(http, setup))["templates"]}
    assert listed[str(own.id)]["ours"] is True

    # A template that no longer exists: a failed step saying so, nothing attached to the others.
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/provision", headers=h,
                        json={"template_ids": ["999"], "send_test": False})  # fmt: skip
    report = r.json()
    assert report["ok"] is False
    assert any(s["outcome"] == "failed" and "999" in s["detail"] for s in report["steps"]), report["steps"]


async def test_a_refusal_is_said_in_plain_words(http, transport, app, state, tenant) -> None:  # type: ignore[no-untyped-def]
    setup = await connect_tactical(http, transport, app, state, tenant, sync=False)
    setup.sim.actions.add_template("Default", default=True)
    setup.sim.faults.add(Fault("status", path_contains="/alerts/templates/", method="GET", status=403))
    out = await templates(http, setup)
    assert out["templates"] == []
    assert "lacks the permission 'can_list_alerttemplates'" in out["error"] and "Permissions Manager" in out["fix"]

    # Clients unreadable (a permission): the templates are still listed, "applies to" unknown.
    setup.sim.faults.clear()
    setup.sim.faults.add(Fault("status", path_contains="/beta/v1/client/", method="GET", status=403))
    (only,) = (await templates(http, setup))["templates"]
    assert only["applies_to"] is None and only["in_default"] is True
