"""Slack and Teams bodies match the shapes their incoming webhooks document."""

from __future__ import annotations

from rmmbridge.delivery import formats

ALERT = {
    "id": "0193a000-0000-7000-8000-000000000001",
    "type": "alert.triggered",
    "timestamp": "2026-12-06T10:00:00Z",
    "version": "2026-12-01",
    "tenant_id": "0193a000-0000-7000-8000-0000000000aa",
    "entity_type": "alert",
    "entity_id": "0193a000-0000-7000-8000-0000000000bb",
    "data": {
        "asset_id": "0193a000-0000-7000-8000-0000000000cc",
        "severity": "critical",
        "alert_type": "disk",
        "message": "Disk <C:> 95% full",
    },
    "asset": {"id": "0193a000-0000-7000-8000-0000000000cc", "name": "SRV-01", "client_id": None},
}
BASE = "https://psa.example.com"


def test_slack_incoming_webhook_message():
    body = formats.render("slack", ALERT, BASE)
    assert isinstance(body["text"], str) and "SRV-01" in body["text"] and "CRITICAL" in body["text"]
    section, context, actions = body["blocks"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert "&lt;C:&gt;" in section["text"]["text"]  # Slack's three control characters escaped
    assert context["type"] == "context" and all(e["type"] == "mrkdwn" for e in context["elements"])
    [button] = actions["elements"]
    assert button["type"] == "button" and button["text"]["type"] == "plain_text"
    assert button["url"] == f"{BASE}/alerts?asset_id={ALERT['data']['asset_id']}"


def test_teams_message_card():
    card = formats.render("teams", ALERT, BASE)
    assert card["@type"] == "MessageCard" and card["@context"] == "https://schema.org/extensions"
    assert card["summary"] and card["title"] and len(card["themeColor"]) == 6
    facts = {f["name"]: f["value"] for f in card["sections"][0]["facts"]}
    assert facts["Severity"] == "critical" and facts["Event"] == "alert.triggered"
    [action] = card["potentialAction"]
    assert action["@type"] == "OpenUri" and action["targets"] == [
        {"os": "default", "uri": formats.link_of(ALERT, BASE)}
    ]


def test_asset_events_link_to_the_asset_and_standard_is_the_envelope():
    event = {**ALERT, "type": "asset.updated", "entity_type": "asset", "entity_id": "a1", "data": {"changed": ["os"]}}
    assert formats.render("teams", event, BASE)["potentialAction"][0]["targets"][0]["uri"] == f"{BASE}/assets/a1"
    assert "os" in formats.render("slack", event, BASE)["text"]
    assert formats.render("standard", event, BASE) is event
