"""Tactical's JSON shapes, key for key and in upstream order (reference §3.3-§3.6, §6.3, §7.1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import computed
from .agent_data import heavy_fields, mesh_node_id, software_items
from .fleet import AgentRecord, Alert, Client, Site, TacticalFleet

Json = dict[str, Any]

LIST_KEYS = (
    "id", "created_by", "created_time", "modified_by", "modified_time", "version", "operating_system", "plat",
    "goarch", "hostname", "agent_id", "last_seen", "services", "public_ip", "total_ram", "disks", "boot_time",
    "logged_in_username", "last_logged_in_user", "monitoring_type", "description", "mesh_node_id",
    "overdue_email_alert", "overdue_text_alert", "overdue_dashboard_alert", "offline_time", "overdue_time",
    "check_interval", "needs_reboot", "choco_installed", "wmi_detail", "patches_last_installed", "time_zone",
    "maintenance_mode", "block_policy_inheritance", "default_shell", "default_shell_custom", "alert_template",
    "site", "policy",
)
DETAIL_KEYS = (
    "version", "operating_system", "plat", "goarch", "hostname", "agent_id", "last_seen", "services", "public_ip",
    "total_ram", "disks", "boot_time", "logged_in_username", "last_logged_in_user", "monitoring_type",
    "description", "mesh_node_id", "hex_mesh_node_id", "overdue_email_alert", "overdue_text_alert",
    "overdue_dashboard_alert", "offline_time", "overdue_time", "check_interval", "needs_reboot",
    "choco_installed", "wmi_detail", "patches_last_installed", "time_zone", "maintenance_mode",
    "block_policy_inheritance", "alert_template", "site", "policy", "status", "checks", "pending_actions_count",
    "cpu_model", "graphics", "local_ips", "make_model", "physical_disks", "serial_number",
)


def iso(value: datetime | None) -> str | None:
    """DRF's DateTimeField output: ISO 8601, ``Z`` for UTC, microseconds when non-zero."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def client_json(client: Client, alert_template: int | None = None) -> Json:
    """``alert_template``: the pk of the template assigned to the client (``Client.alert_template``)."""
    return {
        "id": client.id,
        "created_by": client.created_by,
        "created_time": iso(client.created_time),
        "modified_by": client.modified_by,
        "modified_time": iso(client.modified_time),
        "name": client.name,
        "block_policy_inheritance": False,
        "failing_checks": {"error": client.failing_error, "warning": client.failing_warning},
        "workstation_policy": None,
        "server_policy": None,
        "alert_template": alert_template,
    }


def site_json(site: Site) -> Json:
    return {
        "id": site.id,
        "created_by": site.created_by,
        "created_time": iso(site.created_time),
        "modified_by": site.modified_by,
        "modified_time": iso(site.modified_time),
        "name": site.name,
        "block_policy_inheritance": False,
        "failing_checks": {"error": site.failing_error, "warning": site.failing_warning},
        "client": site.client_id,
        "workstation_policy": None,
        "server_policy": None,
        "alert_template": None,
    }


def agent_row(fleet: TacticalFleet, agent: AgentRecord) -> Json:
    """One ``ListAgentSerializer`` row: the 40 keys of reference §3.5, in order."""
    wmi, services, disks = heavy_fields(fleet, agent)
    return {
        "id": agent.pk,
        "created_by": None,
        "created_time": iso(agent.created_time),
        "modified_by": None,
        "modified_time": iso(agent.modified_time),
        "version": agent.version,
        "operating_system": agent.operating_system,
        "plat": agent.plat,
        "goarch": agent.goarch,
        "hostname": agent.hostname,
        "agent_id": agent.agent_id,
        "last_seen": iso(agent.last_seen),
        "services": services,
        "public_ip": agent.public_ip,
        "total_ram": agent.total_ram,
        "disks": disks,
        "boot_time": agent.boot_time,
        "logged_in_username": agent.logged_in_username,
        "last_logged_in_user": agent.last_logged_in_user,
        "monitoring_type": agent.monitoring_type,
        "description": agent.description,
        "mesh_node_id": mesh_node_id(fleet.seed, agent),
        "overdue_email_alert": agent.overdue_email_alert,
        "overdue_text_alert": agent.overdue_text_alert,
        "overdue_dashboard_alert": agent.overdue_dashboard_alert,
        "offline_time": agent.offline_time,
        "overdue_time": agent.overdue_time,
        "check_interval": agent.check_interval,
        "needs_reboot": agent.needs_reboot,
        "choco_installed": agent.choco_installed,
        "wmi_detail": wmi,
        "patches_last_installed": iso(agent.patches_last_installed),
        "time_zone": agent.time_zone,
        "maintenance_mode": agent.maintenance_mode,
        "block_policy_inheritance": False,
        "default_shell": "use_global",
        "default_shell_custom": "",
        "alert_template": None,
        "site": agent.site_id,
        "policy": None,
    }


def checks_summary(fleet: TacticalFleet, agent: AgentRecord) -> Json:
    failing = warning = info = 0
    for alert in fleet.alerts_of(agent.pk):
        if alert.alert_type == "check" and alert.is_open:
            if alert.severity == "error":
                failing += 1
            elif alert.severity == "warning":
                warning += 1
            else:
                info += 1
    total = max(agent.total_checks, failing + warning + info)
    return {
        "total": total,
        "passing": total - failing - warning - info,
        "failing": failing,
        "warning": warning,
        "info": info,
        "has_failing_checks": failing > 0 or warning > 0,
    }


def agent_detail(fleet: TacticalFleet, agent: AgentRecord, now: datetime) -> Json:
    """One ``DetailAgentSerializer`` object, computed fields included."""
    row = agent_row(fleet, agent)
    wmi = row["wmi_detail"]
    plat = agent.plat
    extra: Json = {
        "hex_mesh_node_id": computed.hex_mesh_node_id(row["mesh_node_id"]),
        "status": computed.status_of(agent, now),
        "checks": checks_summary(fleet, agent),
        "pending_actions_count": agent.pending_actions,
        "cpu_model": computed.cpu_model(plat, wmi),
        "graphics": computed.graphics(plat, wmi),
        "local_ips": computed.local_ips(plat, wmi),
        "make_model": computed.make_model(plat, wmi),
        "physical_disks": computed.physical_disks(plat, wmi),
        "serial_number": computed.serial_number(plat, wmi),
    }
    return {key: row[key] if key in row else extra[key] for key in DETAIL_KEYS}


ALERT_KEYS_AFTER_SITE = (
    "alert_time", "alert_type", "message", "snoozed", "snooze_until", "resolved", "resolved_on", "severity",
    "email_sent", "resolved_email_sent", "sms_sent", "resolved_sms_sent", "hidden", "action_run",
    "action_stdout", "action_stderr", "action_retcode", "action_execution_time", "resolved_action_run",
    "resolved_action_stdout", "resolved_action_stderr", "resolved_action_retcode",
    "resolved_action_execution_time",
)


def alert_json(fleet: TacticalFleet, alert: Alert) -> Json:
    """The alert object of §6.3; agent-less (custom) alerts omit hostname/agent_id/client/site."""
    out: Json = {"id": alert.id}
    agent = fleet.agents.get(alert.agent_pk) if alert.agent_pk is not None else None
    if agent is not None:
        site = fleet.sites[agent.site_id]
        out["hostname"] = agent.hostname
        out["agent_id"] = agent.agent_id
        out["client"] = fleet.clients[site.client_id].name
        out["site"] = site.name
    for key in ALERT_KEYS_AFTER_SITE:
        value = getattr(alert, key)
        out[key] = iso(value) if isinstance(value, datetime) else value
    out["agent"] = alert.agent_pk
    out["assigned_check"] = alert.assigned_check
    out["assigned_task"] = alert.assigned_task
    return out


def software_row(fleet: TacticalFleet, agent: AgentRecord) -> Json | None:
    if agent.software_id is None:
        return None
    return {"id": agent.software_id, "agent": agent.pk, "software": software_items(fleet, agent)}
