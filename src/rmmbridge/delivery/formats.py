"""What a delivery's body looks like for each subscription format.

``standard``: the event envelope as is (catalogue.envelope_schema). ``slack``: a Slack incoming
webhook message (``text`` plus Block Kit ``blocks``). ``teams``: an Office 365 connector
MessageCard (what a Teams incoming webhook accepts), with an OpenUri action back to rmmbridge.
Chat formats link to the asset (asset events, alerts on an asset) or the alerts list.
"""

from __future__ import annotations

from typing import Any

FORMATS = ("standard", "slack", "teams")

_SEVERITY_COLOURS = {"critical": "B00020", "error": "D9480F", "warning": "E3A008", "info": "2563EB"}


def link_of(envelope: dict[str, Any], base_url: str) -> str:
    data = envelope.get("data") or {}
    if envelope.get("entity_type") == "asset":
        return f"{base_url}/assets/{envelope.get('entity_id')}"
    if envelope.get("entity_type") == "alert":
        asset_id = data.get("asset_id")
        return f"{base_url}/alerts?asset_id={asset_id}" if asset_id else f"{base_url}/alerts"
    return f"{base_url}/"


def headline(envelope: dict[str, Any]) -> str:
    data = envelope.get("data") or {}
    subject = (envelope.get("asset") or {}).get("name") or data.get("name") or envelope.get("entity_id")
    kind = envelope.get("type", "")
    if kind.startswith("alert."):
        severity = str(data.get("severity") or "").upper()
        what = data.get("message") or data.get("alert_type") or "alert"
        verb = kind.split(".", 1)[1].replace("_", " ")
        return f"[{severity}] Alert {verb} on {subject}: {what}"
    if kind == "asset.updated":
        return f"Asset {subject} updated: {', '.join(data.get('changed') or [])}"
    if kind.startswith("asset."):
        return f"Asset {subject}: {kind.split('.', 1)[1].replace('_', ' ')}"
    if kind == "integration.sync_finished":
        return f"Sync {data.get('kind')} {data.get('status')}"
    return str(data.get("message") or kind)


def render(fmt: str, envelope: dict[str, Any], base_url: str) -> dict[str, Any]:
    if fmt == "slack":
        return slack_message(envelope, base_url)
    if fmt == "teams":
        return teams_card(envelope, base_url)
    return envelope


def slack_message(envelope: dict[str, Any], base_url: str) -> dict[str, Any]:
    title, url = headline(envelope), link_of(envelope, base_url)
    return {
        "text": title,  # the notification text (and the fallback of clients without blocks)
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_slack_escape(title)}*"}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"`{envelope['type']}` · event {envelope['id']}"}],
            },
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Open in rmmbridge"}, "url": url}
                ],
            },
        ],
    }


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams_card(envelope: dict[str, Any], base_url: str) -> dict[str, Any]:
    data = envelope.get("data") or {}
    title, url = headline(envelope), link_of(envelope, base_url)
    facts = [{"name": "Event", "value": envelope["type"]}, {"name": "Time", "value": envelope["timestamp"]}]
    facts += [
        {"name": k.replace("_", " ").capitalize(), "value": str(data[k])}
        for k in ("severity", "alert_type")
        if data.get(k)
    ]
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": title[:200],
        "themeColor": _SEVERITY_COLOURS.get(str(data.get("severity")), "6B7280"),
        "title": title,
        "sections": [{"facts": facts}],
        "potentialAction": [
            {"@type": "OpenUri", "name": "Open in rmmbridge", "targets": [{"os": "default", "uri": url}]}
        ],
    }
