"""The metrics docs/operations.md lists and the shipped Prometheus rules use are the ones /metrics
exposes after a real sync (Tactical simulator, over HTTP), with the same types and labels; and
every rmmbridge metric /metrics exposes is documented."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

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
    scraped = Exposition((await http.get("/metrics")).text)

    # The sync was counted, under the labels the docs and rules use.
    runs = scraped.samples["rmmbridge_sync_runs_total"]
    assert {"provider": "tacticalrmm", "kind": "devices", "status": "succeeded"} in runs
    assert any(r.get("provider") == "tacticalrmm" for r in scraped.samples["rmmbridge_sync_devices_total"])

    table = documented_table()
    # Every family /metrics exposes is in the table (a new metric fails here until documented) …
    assert sorted(set(scraped.types) - set(table)) == []
    # … and every row of the table is exposed, with its type and, where samples exist, its labels.
    for name, (kind, labels) in table.items():
        assert scraped.types.get(name) == kind, f"{name}: documented as {kind}, exposed as {scraped.types.get(name)}"
        seen = scraped.label_names(name)
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
