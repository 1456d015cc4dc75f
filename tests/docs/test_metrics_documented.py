"""The metrics docs/operations.md lists and the shipped Prometheus rules use are the ones /metrics
exposes after a real sync (Tactical simulator, over HTTP), with the same types and labels; and
every rmmbridge metric /metrics exposes is documented."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import yaml

from rmmbridge.sync.runner import runner_of
from tests.conftest import map_all, run_sync
from tests.providers.tacticalrmm.test_sync_flow import check_connection, connect

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "docs" / "operations.md"
RULES = ROOT / "deploy" / "prometheus" / "rmmbridge-alerts.yml"
NAME = re.compile(r"\brmmbridge_[a-z0-9_]*[a-z0-9]\b")
SAMPLE = re.compile(r"^(rmmbridge_[a-z0-9_]+)(?:\{([^}]*)\})? ")


def documented_table() -> dict[str, tuple[str, set[str]]]:
    """name → (type, label names) from the table between the metrics markers."""
    text = OPERATIONS.read_text()
    section = text.split("<!-- metrics:begin -->", 1)[1].split("<!-- metrics:end -->", 1)[0]
    table = {}
    for row in section.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`rmmbridge_"):
            labels = set(re.findall(r"`([a-z_]+)`", cells[2]))
            table[cells[0].strip("`")] = (cells[1], labels)
    return table


class Exposition:
    def __init__(self, text: str) -> None:
        self.types: dict[str, str] = {}
        self.labels: dict[str, set[str]] = {}
        self.samples: dict[str, list[dict[str, str]]] = {}
        for line in text.splitlines():
            if line.startswith("# TYPE rmmbridge_"):
                _, _, name, kind = line.split()
                if not name.endswith("_created"):  # prometheus_client's creation-time series
                    self.types[name] = kind
            elif m := SAMPLE.match(line):
                labels = dict(re.findall(r'([a-z_]+)="([^"]*)"', m.group(2) or ""))
                self.samples.setdefault(m.group(1), []).append(labels)

    def family_of(self, sample: str) -> str | None:
        for family in self.types:
            if sample == family or sample in (f"{family}_bucket", f"{family}_sum", f"{family}_count"):
                return family
        return None

    def samples_of(self, family: str) -> list[dict[str, str]]:
        return [row for sample, rows in self.samples.items() if self.family_of(sample) == family for row in rows]

    def label_names(self, family: str) -> set[str]:
        names: set[str] = set()
        for sample, rows in self.samples.items():
            if self.family_of(sample) == family:
                for row in rows:
                    names |= set(row) - {"le"}
        return names


async def test_metric_names_in_docs_and_rules_are_what_metrics_exposes(http, state, transport, tenant) -> None:
    setup = await connect(http, transport, tenant)
    assert (await check_connection(http, setup))["ok"]
    assert (await run_sync(http, state, setup, "scopes"))["status"] == "succeeded"
    await map_all(http, setup)
    assert (await run_sync(http, state, setup, "devices"))["status"] == "succeeded"
    await deliver_webhooks(http, state, setup)
    scraped = Exposition((await http.get("/metrics")).text)

    # The sync was counted, under the labels the docs and rules use.
    runs = scraped.samples["rmmbridge_sync_runs_total"]
    assert {"provider": "tacticalrmm", "kind": "devices", "status": "succeeded"} in runs
    assert any(r.get("provider") == "tacticalrmm" for r in scraped.samples["rmmbridge_sync_devices_total"])

    table = documented_table()
    assert {"provider": "tacticalrmm", "outcome": "created"} in scraped.samples["rmmbridge_webhooks_total"]
    assert {"provider": "tacticalrmm", "outcome": "rejected_401"} in scraped.samples["rmmbridge_webhooks_total"]
    # Every family /metrics exposes is in the table (a new metric fails here until documented) …
    assert sorted(set(scraped.types) - set(table)) == []
    # … and every row of the table is exposed, with its type and, where samples exist, its labels.
    for name, (kind, labels) in table.items():
        assert scraped.types.get(name) == kind, f"{name}: documented as {kind}, exposed as {scraped.types.get(name)}"
        seen = scraped.label_names(name)
        assert scraped.samples_of(name), f"{name}: no sample after a sync and two webhooks"
        if seen:
            assert seen == labels, f"{name}: documented labels {sorted(labels)}, exposed {sorted(seen)}"

    # Any metric name anywhere in operations.md, and in every rule expression, is exposed.
    for name in set(NAME.findall(OPERATIONS.read_text())):
        assert scraped.family_of(name), f"docs/operations.md names {name}, which /metrics does not expose"
    rules = yaml.safe_load(RULES.read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    used = {name for expr in exprs for name in NAME.findall(expr)}
    assert used, "the rule file uses no rmmbridge metric"
    for name in used:
        family = scraped.family_of(name)
        assert family, f"{RULES.name} uses {name}, which /metrics does not expose"
    # Label names a rule matches on or groups by exist on the metric.
    for expr in exprs:
        for name, matchers in re.findall(r"(rmmbridge_[a-z0-9_]+)\{([^}]*)\}", expr):
            family = scraped.family_of(name)
            allowed = table[family][1] | {"job", "instance"} | ({"le"} if name.endswith("_bucket") else set())
            for label in re.findall(r"([a-z_]+)\s*(?:=~|!=|!~|=)", matchers):
                assert label in allowed, f"{RULES.name}: {name} has no label {label}"
        for labels in re.findall(r"by \(([^)]*)\)", expr):
            for label in (x.strip() for x in labels.split(",")):
                assert any(label in t[1] for t in table.values()) or label == "le", f"{RULES.name}: by ({label})"


async def deliver_webhooks(http, state, setup) -> None:  # type: ignore[no-untyped-def]
    """One alert from Tactical's own template for a known agent (stored), one with a wrong secret."""
    h = setup.tenant.headers()
    r = await http.post(f"/api/v1/integrations/{setup.integration_id}/webhook/rotate", headers=h)
    assert r.status_code == 200, r.text
    secret, template = r.json()["secret"], r.json()["info"]["templates"]["failure"]
    agent = next(iter(setup.fleet.agents.values()))
    site = setup.fleet.sites[agent.site_id]
    values = {
        "{{alert.id}}": "77001", "{{alert.alert_type}}": "check", "{{alert.severity}}": "warning",
        "{{alert.alert_time}}": "2025-11-22 10:58:03.407861+00:00", "{{agent.agent_id}}": agent.agent_id,
        "{{agent.id}}": str(agent.pk), "{{agent.hostname}}": agent.hostname, "{{client.id}}": str(site.client_id),
        "{{site.id}}": str(site.id), "{{alert.assigned_check.id}}": "12", "{{alert.assigned_task.id}}": "None",
        "{{alert.message}}": "Disk space check failed.",
    }  # fmt: skip
    for var, value in values.items():
        template = template.replace(var, value)
    headers = {"X-Webhook-Secret": secret, "content-type": "application/json"}
    r = await http.post("/api/webhooks/tacticalrmm", content=template, headers=headers)
    assert r.status_code == 202, r.text
    if r.json().get("refresh_run_id"):
        await runner_of(state).wait(uuid.UUID(r.json()["refresh_run_id"]), timeout=60)
    wrong = {"X-Webhook-Secret": "whs_" + uuid.uuid4().hex, "content-type": "application/json"}
    r = await http.post("/api/webhooks/tacticalrmm", content=json.dumps({"x": 1}), headers=wrong)
    assert r.status_code == 401, r.text
