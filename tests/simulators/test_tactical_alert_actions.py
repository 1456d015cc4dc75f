"""The Tactical simulator's alert actions against Tactical 1.5's source (docs/reference/
tactical-alert-actions.md): key store, URL actions, templates and core settings with their real
answers and permissions, and REST actions delivered (or not) exactly when Tactical sends them."""

from __future__ import annotations

import json
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from rmmbridge.kit.http import RoutedTransport
from rmmbridge.simulators.tacticalrmm import DEFAULT_API_KEY, ApiKey, Role, TacticalUser, create_app, generate_fleet
from rmmbridge.simulators.tacticalrmm.auth import default_users

BASE = "https://api.example.com"
DENIED = {"detail": "You do not have permission to perform this action."}


class Receiver:
    """The far end of the URL actions: records what arrives, answers ``status``."""

    def __init__(self, status: int = 202) -> None:
        self.status = status
        self.received: list[tuple[dict[str, str], Any]] = []

        async def hook(request: Request) -> JSONResponse:
            self.received.append((dict(request.headers), json.loads(await request.body())))
            return JSONResponse({"status": "accepted"}, status_code=self.status)

        self.app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])


def setup(status: int = 202, **kw: Any) -> tuple[Any, Receiver, httpx.AsyncClient]:
    fleet = generate_fleet(seed=3, clients=2, agents=6, sites_per_client=1)
    for agent in fleet.agents.values():
        agent.maintenance_mode = False
    sim = create_app(fleet, **kw)
    receiver = Receiver(status)
    transport = RoutedTransport({"receiver.example": receiver.app, "api.example.com": sim})
    sim.state.outbound = transport
    client = httpx.AsyncClient(transport=transport, base_url=BASE, headers={"X-API-KEY": DEFAULT_API_KEY})
    return sim, receiver, client


async def provision_by_hand(client: httpx.AsyncClient, sim: Any) -> Any:
    """What an admin (or rmmbridge) does: key, two actions, a default template pointing at them."""
    assert (await client.post("/core/keystore/", json={"name": "HOOK_SECRET", "value": "s3cret"})).json() == "ok"
    headers = json.dumps({"Content-Type": "application/json", "X-Webhook-Secret": "{{global.HOOK_SECRET}}"})
    for name, event in (("fail", "trigger"), ("ok", "resolve")):
        r = await client.post("/core/urlaction/", json={
            "name": name, "pattern": "https://receiver.example/hook", "action_type": "rest", "rest_method": "post",
            "rest_headers": headers,
            "rest_body": '{"event": "EVENT", "alert_id": "{{alert.id}}", "agent_id": "{{agent.agent_id}}", '
                         '"when": "{{alert.alert_time}}"}'.replace("EVENT", event),
        })  # fmt: skip
        assert r.status_code == 200 and r.json() == "ok"  # not the object
    actions = {a["name"]: a["id"] for a in (await client.get("/core/urlaction/")).json()}
    template = sim.state.actions.add_template("Default", default=True)
    r = await client.put(f"/alerts/templates/{template.id}/", json={
        "action_type": "rest", "action_rest": actions["fail"],
        "resolved_action_type": "rest", "resolved_action_rest": actions["ok"],
    })  # fmt: skip
    assert r.json() == "ok"
    return template


async def fire(client: httpx.AsyncClient, agent: int, **kw: Any) -> dict[str, Any]:
    r = await client.post("/_sim/alerts", json={"agent": agent, "alert_type": "check", "severity": "error", **kw})
    return r.json()  # type: ignore[no-any-return]


async def test_key_store_and_url_actions_answer_like_tactical() -> None:
    _sim, _, client = setup()
    r = await client.post("/core/keystore/", json={"name": "X" * 26, "value": "v"})
    assert r.status_code == 400 and r.json() == {"name": ["Ensure this field has no more than 25 characters."]}
    assert (await client.post("/core/keystore/", json={"name": "X" * 25, "value": "v"})).json() == "ok"
    (key,) = (await client.get("/core/keystore/")).json()
    assert set(key) == {"id", "name", "value", "created_by", "created_time", "modified_by", "modified_time"}
    assert (await client.put(f"/core/keystore/{key['id']}/", json={"value": "w"})).json() == "ok"
    assert (await client.get("/core/keystore/")).json()[0]["value"] == "w"
    r = await client.put("/core/keystore/999/", json={"value": "w"})
    assert r.status_code == 404
    r = await client.post("/core/urlaction/", json={"name": "a", "pattern": "https://x", "rest_method": "yell"})
    assert r.status_code == 400 and "rest_method" in r.json()
    settings = (await client.get("/core/settings/")).json()
    assert settings["notify_on_info_alerts"] is False and settings["notify_on_warning_alerts"] is True


async def test_permission_denied_is_drfs_403() -> None:
    role = Role(name="lister", can_list_alerts=True, can_view_global_keystore=True, can_run_urlactions=True)
    sim, _, _ = setup(api_keys=[ApiKey("LIMITED", "lim")], users=[*default_users(), TacticalUser("lim", None, role=role)])
    transport = sim.state.outbound
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers={"X-API-KEY": "LIMITED"}) as limited:
        assert (await limited.get("/core/keystore/")).status_code == 200
        for method, path, body in (
            ("POST", "/core/keystore/", {"name": "a", "value": "b"}),  # can_edit_global_keystore
            ("POST", "/core/urlaction/", {"name": "a", "pattern": "https://x"}),  # can_edit_core_settings
            ("PUT", "/core/settings/", {"notify_on_info_alerts": True}),  # can_edit_core_settings
            ("GET", "/alerts/templates/", None),  # can_list_alerttemplates
            ("PUT", "/alerts/1/", {"type": "resolve"}),  # can_manage_alerts
        ):
            r = await limited.request(method, path, json=body)
            assert r.status_code == 403 and r.json() == DENIED, (method, path)


async def test_alert_actions_are_delivered_only_when_tactical_would() -> None:
    sim, receiver, client = setup()
    template = await provision_by_hand(client, sim)
    agents = sorted(sim.fleet.agents)
    opened = await fire(client, agents[0])
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert headers["x-webhook-secret"] == "s3cret"  # {{global.…}} filled in from the key store
    assert body["event"] == "trigger" and body["alert_id"] == str(opened["id"])
    assert " " in body["when"] and body["when"].endswith("+00:00")  # Python str() of a datetime
    await client.post(f"/_sim/alerts/{opened['id']}/resolve")
    assert receiver.received[-1][1]["event"] == "resolve"

    # An API resolve sends nothing.
    other = await fire(client, agents[1])
    assert len(receiver.received) == 3
    assert (await client.put(f"/alerts/{other['id']}/", json={"type": "resolve"})).json() == "ok"
    assert len(receiver.received) == 3

    # Info alerts need notify_on_info_alerts; maintenance mode and toggles silence everything.
    await fire(client, agents[2], severity="info", check_id=1)
    assert len(receiver.received) == 3
    assert (await client.put("/core/settings/", json={"notify_on_info_alerts": True})).json() == "ok"
    await fire(client, agents[2], severity="info", check_id=2)
    assert len(receiver.received) == 4
    sim.fleet.agents[agents[3]].maintenance_mode = True
    await fire(client, agents[3])
    template.check_script_actions = False
    await fire(client, agents[4], check_id=3)
    await fire(client, agents[4], alert_type="task", task_id=3)  # the task toggle is still on
    assert len(receiver.received) == 5 and receiver.received[-1][1]["event"] == "trigger"


async def test_a_failed_post_is_never_retried() -> None:
    sim, receiver, client = setup(status=401)
    await provision_by_hand(client, sim)
    agent = sorted(sim.fleet.agents)[0]
    opened = await fire(client, agent)
    again = await fire(client, agent)  # the same open condition: the same alert, already run
    assert again["id"] == opened["id"] and len(receiver.received) == 1
    (delivery,) = (await client.get("/_sim/deliveries")).json()["deliveries"]
    assert delivery["status"] == 401 and delivery["kind"] == "failure"
    assert sim.fleet.alerts[opened["id"]].action_retcode == 401


async def test_the_test_run_fills_globals_only_for_an_instance() -> None:
    sim, receiver, client = setup()
    await client.post("/core/keystore/", json={"name": "K", "value": "v"})
    agent = sim.fleet.agents[sorted(sim.fleet.agents)[0]]
    common = {"pattern": "https://receiver.example/hook", "rest_method": "post",
              "rest_body": '{"a": "{{agent.hostname}}"}', "rest_headers": '{"X-K": "{{global.K}}"}'}  # fmt: skip
    r = await client.post("/core/urlaction/run/test/", json={**common, "run_instance_type": "none",
                                                              "run_instance_id": None})  # fmt: skip
    assert r.json()["result"] == '{"status":"accepted"}'
    assert receiver.received[-1][0]["x-k"] == "{{global.K}}"
    r = await client.post("/core/urlaction/run/test/", json={**common, "run_instance_type": "agent",
                                                              "run_instance_id": agent.agent_id})  # fmt: skip
    assert receiver.received[-1][0]["x-k"] == "v" and receiver.received[-1][1] == {"a": agent.hostname}
    assert set(r.json()) == {"url", "result", "body"}
