"""``rmmbridge assets software``: side-by-side versions through the CLI, as separate processes, against the
Tactical simulator on a port."""

from __future__ import annotations

import json
import uuid
from collections import Counter

from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS
from rmmbridge.simulators.tacticalrmm.agent_data import software_items
from rmmbridge.simulators.tacticalrmm.fleet import AgentRecord, TacticalFleet


def distinct(fleet: TacticalFleet, agent: AgentRecord) -> set[tuple[str, str]]:
    return {(" ".join(i["name"].split()).lower(), i["version"]) for i in software_items(fleet, agent)}


def test_assets_software_lists_every_installed_version(cli, tactical_simulator) -> None:  # type: ignore[no-untyped-def]
    server, fleet = tactical_simulator
    tenant = f"cli-sw-{uuid.uuid4().hex[:6]}"
    assert cli("tenant", "create", tenant).returncode == 0
    t = ("--tenant", tenant)
    added = cli("integrations", "add", "tacticalrmm", "--url", server.url, "--allow-insecure-url", "--auth-mode", "api_key",
                "--secrets-stdin", "--json", *t, stdin=json.dumps({"api_key": DEFAULT_CREDENTIALS.api_key}))  # fmt: skip
    assert added.returncode == 0, added.stderr
    integ = json.loads(added.stdout)
    assert cli("integrations", "test", integ["id"], "--json", *t).returncode == 0
    assert cli("sync", "run", "tacticalrmm", "scopes", "--wait", "--json", *t).returncode == 0
    for m in json.loads(cli("mappings", "list", "tacticalrmm", "--json", *t).stdout)["items"]:
        assert cli("mappings", "create-client", "tacticalrmm", m["external_org_id"], "--json", *t).returncode == 0
    assert json.loads(cli("sync", "run", "tacticalrmm", "devices", "--wait", "--json", *t).stdout)["status"] == (
        "succeeded"
    )
    software = cli("sync", "run", "tacticalrmm", "software", "--wait", "--json", *t)
    assert software.returncode == 0 and json.loads(software.stdout)["status"] == "succeeded", software.stderr

    def has_side_by_side(agent: AgentRecord) -> bool:
        return any(c > 1 for c in Counter(name for name, _ in distinct(fleet, agent)).values())

    agent = next(a for a in fleet.agents.values() if a.software_id is not None and has_side_by_side(a))
    assets = json.loads(cli("assets", "list", "--json", "--limit", "500", *t).stdout)["items"]
    asset = next(a for a in assets if a["rmm_device_id"] == agent.agent_id)
    listed = json.loads(cli("assets", "software", asset["id"], "--json", *t).stdout)
    assert {(" ".join(i["name"].split()).lower(), i["version"]) for i in listed} == distinct(fleet, agent)
    assert len(listed) == len(distinct(fleet, agent))

    table = cli("assets", "software", asset["id"], *t)
    products = len({name for name, _ in distinct(fleet, agent)})
    assert table.returncode == 0 and f"{len(listed)} installed versions of {products} products" in table.stdout

    bad = cli("assets", "software", "not-an-id", *t)
    assert bad.returncode == 1 and "no asset 'not-an-id'" in bad.stderr
    nobody = str(uuid.uuid4())
    missing = cli("assets", "software", nobody, *t)
    assert missing.returncode == 1 and f"no asset '{nobody}'" in missing.stderr
