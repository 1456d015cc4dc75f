"""``rmmbridge identity …`` as an operator runs it, on a tenant whose Tactical and Tanium share machines."""

from __future__ import annotations

import json

from tests.identity.test_cross_rmm import asset_of, pairs, setup_both, sync


async def test_identity_commands(cli, http, state, transport, tenant, db) -> None:  # type: ignore[no-untyped-def]
    tac, tan, client_id = await setup_both(http, state, transport, tenant)
    await sync(http, state, tac)
    await sync(http, state, tan)
    t = ("--tenant", tenant.name)
    out = cli("identity", "candidates", "--json", *t)
    assert out.returncode == 0, out.stderr
    items = json.loads(out.stdout)["items"]
    assert len(items) == len(pairs(tac, tan, "weak")) and all(c["evidence"] for c in items)
    agent_id, _eid, _m = pairs(tac, tan)[0]
    asset_id = str((await asset_of(db, tac))[agent_id])
    out = cli("identity", "sources", asset_id, "--json", *t)
    assert out.returncode == 0, out.stderr
    assert {s["provider"] for s in json.loads(out.stdout)["items"]} == {"tacticalrmm", "tanium"}
    shown = cli("assets", "show", asset_id, *t)
    assert shown.returncode == 0 and "sources" in shown.stdout, shown.stderr
    csv_out = cli("identity", "coverage", "--client", client_id, "--csv", *t)
    assert csv_out.returncode == 0 and csv_out.stdout.startswith("kind,client,asset_id"), csv_out.stderr
    # Merge then unmerge a candidate through the CLI.
    cand = items[0]
    merged = cli("identity", "decide", cand["id"], "merge", "--json", *t)
    assert merged.returncode == 0, merged.stderr
    out = json.loads(cli("identity", "sources", cand["asset_a"]["id"], "--json", *t).stdout)["items"]
    moved = next(s for s in out if s["origin_asset_id"] == cand["asset_b"]["id"])
    back = cli("identity", "unmerge", cand["asset_a"]["id"], moved["mapping_id"], "--json", *t)
    assert back.returncode == 0 and json.loads(back.stdout)["restored"] == cand["asset_b"]["id"], back.stderr
    # Bad input: one line, non-zero exit, no traceback.
    bad = cli("identity", "merge", "not-an-id", asset_id, *t)
    assert bad.returncode != 0 and "not an asset id" in (bad.stderr + bad.stdout) and "Traceback" not in bad.stderr
    bad = cli("identity", "decide", cand["id"], "merge", *t)  # already decided
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
