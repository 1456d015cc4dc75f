"""The alert-template picker of one-click webhook provisioning (issue #18): the integration page
lists Tactical's alert templates live, ticks the default choice, and provisions exactly the ones
the admin picks; when Tactical refuses or fails, the page says so in plain words."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rmmbridge.simulators.faults import Fault

from .conftest import Api, shot

pytestmark = pytest.mark.e2e


def test_pick_one_template_and_provision_exactly_it(live, account, api: Api, tactical, new_page) -> None:  # type: ignore[no-untyped-def]
    sim = tactical(clients=3, agents=9)
    actions = sim.app.state.actions
    first, second = sorted(sim.fleet.clients.values(), key=lambda c: c.id)[:2]
    default = actions.add_template("Company default", default=True)
    own = actions.add_template("Servers of one client", clients={first.id})
    other = actions.add_template("Second client", clients={second.id})
    retired = actions.add_template("Retired", is_active=False)
    iid = api.fleet_ready(sim)
    names = {m["external_org_id"]: m["external_org_name"]
             for m in api("GET", f"/integrations/{iid}/mappings", params={"page_size": 500})["items"]}  # fmt: skip

    page = new_page(account=account)
    page.goto(f"/settings/integrations/tacticalrmm/{iid}#webhook")
    picker = page.locator("[data-template-picker]")
    expect(picker).to_be_visible()
    rows = {t.id: picker.locator(f"[data-template-row='{t.id}']") for t in (default, own, other, retired)}
    # Name, active, default, and the mapped clients each applies to.
    expect(rows[own.id]).to_contain_text("Servers of one client")
    expect(rows[own.id]).to_contain_text(names[str(first.id)])
    expect(rows[default.id]).to_contain_text("default")
    expect(rows[default.id]).not_to_contain_text(names[str(first.id)])  # that client runs its own template
    third = next(n for k, n in names.items() if k not in (str(first.id), str(second.id)))
    expect(rows[default.id]).to_contain_text(third)
    expect(rows[retired.id]).to_contain_text("no")
    # Preselected: every active template that applies to a mapped client.
    for t in (default, own, other):
        expect(rows[t.id].get_by_role("checkbox")).to_be_checked()
    expect(rows[retired.id].get_by_role("checkbox")).not_to_be_checked()
    shot(page, "webhook-template-picker")

    # The admin picks one template only.
    for t in (default, other):
        rows[t.id].get_by_role("checkbox").uncheck()
    page.get_by_role("button", name="Set up Tactical RMM and send test alert").click()
    expect(page.get_by_role("status").first).to_contain_text("Tactical RMM is set up and a test alert arrived.")
    assert "/webhook/provision" not in page.url  # post/redirect/get: a reload provisions nothing
    expect(page.locator("[data-provision-report]")).to_contain_text("alert template “Servers of one client”")
    expect(page.locator("[data-provision-report]")).not_to_contain_text("Company default")

    # Tactical's state: the actions are attached to exactly that template.
    failure, resolved = sorted(actions.urlactions)
    attached = {t.id for t in actions.templates.values() if t.action_rest is not None or t.resolved_action_rest}
    assert attached == {own.id}
    assert (own.action_type, own.action_rest, own.resolved_action_type, own.resolved_action_rest) == (
        "rest", failure, "rest", resolved
    )
    for t in (default, other, retired):
        assert t.action_type == "script" and t.action_rest is None and t.resolved_action_rest is None

    # The page shows the pick as it is now in Tactical: the attached template runs rmmbridge's action.
    expect(page.locator(f"[data-template-row='{own.id}']")).to_contain_text("rmmbridge's")
    shot(page, "webhook-template-picked")


def test_the_page_when_tactical_refuses(live, account, api: Api, tactical, new_page) -> None:  # type: ignore[no-untyped-def]
    sim = tactical(clients=2, agents=4)
    sim.app.state.actions.add_template("Company default", default=True)
    iid = api.fleet_ready(sim)
    faults = sim.app.state.faults

    # The API key's role lacks the permission to list alert templates (DRF's 403).
    faults.add(Fault("status", path_contains="/alerts/templates/", method="GET", status=403))
    page = new_page(account=account)
    response = page.goto(f"/settings/integrations/tacticalrmm/{iid}#webhook")
    assert response is not None and response.status == 200
    error = page.locator("[data-picker-error]")
    expect(error).to_contain_text("lacks the permission 'can_list_alerttemplates'")
    expect(error).to_contain_text("Permissions Manager")
    expect(page.locator("[data-template-picker] input[type=checkbox]")).to_have_count(0)
    expect(page.get_by_role("button", name="Set up Tactical RMM and send test alert")).to_be_visible()
    shot(page, "webhook-template-picker-refused")

    # Tactical failing (a proxy's 502 on every try): the page still renders and says what happened.
    faults.clear()
    faults.add(Fault("status", path_contains="/alerts/templates/", method="GET", status=502))
    response = page.reload()
    assert response is not None and response.status == 200
    expect(page.locator("[data-picker-error]")).to_contain_text("HTTP 502")

    # Provisioning with Tactical refusing the templates: a failed step in plain words, not a 500.
    faults.clear()
    faults.add(Fault("status", path_contains="/alerts/templates/", status=403))
    page.get_by_role("button", name="Set up Tactical RMM and send test alert").click()
    expect(page.get_by_role("alert").filter(has_text="could not be fully set up")).to_have_count(1)
    expect(page.locator("[data-provision-report]")).to_contain_text("can_list_alerttemplates")
