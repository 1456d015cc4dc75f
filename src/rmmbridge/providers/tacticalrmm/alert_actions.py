"""Tactical alert actions through its API: resolve/snooze alerts, and provision the webhook.

Tactical 1.5 facts (docs/reference/tactical-alert-actions.md, from ``core/views.py``,
``core/models.py``, ``alerts/views.py``, ``alerts/models.py``, ``*/permissions.py``):

- ``PUT /alerts/<pk>/`` ``{"type": "resolve"}`` / ``{"type": "snooze", "snooze_days": n}`` and
  ``POST /alerts/bulk/`` ``{"bulk_action": "resolve", "alerts": [pks]}`` answer ``"ok"``
  (``can_manage_alerts``). Bulk silently skips pks that do not exist. An API resolve runs no
  resolved action: Tactical sends no webhook for it, so rmmbridge records it locally itself.
- Key store ``/core/keystore/`` (``name`` ≤ 25 chars): GET ``can_view_global_keystore``, writes
  ``can_edit_global_keystore``. URL actions ``/core/urlaction/``: GET ``can_run_urlactions``, writes
  ``can_edit_core_settings``; ``POST`` answers ``"ok"``, so the action is found again by name.
  Alert templates ``/alerts/templates/``: GET ``can_list_alerttemplates``, ``PUT`` (partial)
  ``can_manage_alerttemplates``. Core settings ``/core/settings/``: GET ``can_view_core_settings``,
  ``PUT`` (partial) ``can_edit_core_settings``. A denied request is 403
  ``{"detail": "You do not have permission to perform this action."}`` — which permission is
  missing is not said, so each call here names the one its endpoint needs.
- A template's REST action runs only with ``action_type == "rest"`` and the toggle of the alert's
  kind on (``agent_script_actions``, ``check_script_actions``, ``task_script_actions``); ``info``
  alerts only with ``notify_on_info_alerts``, ``warning`` ones only with ``notify_on_warning_alerts``;
  never for an agent in maintenance mode; once per alert, never retried.
- ``{{global.NAME}}`` is replaced only when an action runs against an instance: the test run
  (``POST /core/urlaction/run/test/``) is sent for an agent so the key-store secret is filled in.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from rmmbridge.providers.base import (
    AlertEvent,
    AlertTemplateChoice,
    ProviderConfigError,
    ProviderError,
    ProvisionReport,
    ProvisionStep,
    WebhookTarget,
)

from . import webhook
from .client import TacticalClient, TacticalConfigError, decode_json

KEY_NAME_MAX = 25
TEST_RUN_PATH = "/core/urlaction/run/test/"
SYNTHETIC_TIMEOUT_S = 10.0
TOGGLES = {"availability": "agent_script_actions", "check": "check_script_actions", "task": "task_script_actions"}
TOGGLE_LABELS = {
    "agent_script_actions": "Agent Settings → Run actions",
    "check_script_actions": "Check Settings → Run actions",
    "task_script_actions": "Task Settings → Run actions",
}


def key_name(target: WebhookTarget) -> str:
    name = f"RMMB_{target.label}"[:KEY_NAME_MAX]
    return name


def action_names(target: WebhookTarget) -> tuple[str, str]:
    return f"rmmbridge alert failure ({target.label})", f"rmmbridge alert resolved ({target.label})"


def headers_template(target: WebhookTarget) -> str:
    return json.dumps({"Content-Type": "application/json", target.header: "{{global." + key_name(target) + "}}"})


def desired_actions(target: WebhookTarget) -> dict[str, dict[str, Any]]:
    bodies = webhook.templates()
    failure, resolved = action_names(target)
    common = {"pattern": target.url, "action_type": "rest", "rest_method": "post",
              "rest_headers": headers_template(target)}
    return {
        failure: {"name": failure, "desc": "Sends failing alerts to rmmbridge (provisioned by rmmbridge).",
                  "rest_body": bodies["failure"], **common},
        resolved: {"name": resolved, "desc": "Sends resolved alerts to rmmbridge (provisioned by rmmbridge).",
                   "rest_body": bodies["resolved"], **common},
    }


def test_body(*, agent_id: str, agent_pk: str, hostname: str, message: str) -> dict[str, str]:
    """A test alert: resolved at once, so it never shows as an open alert."""
    now = datetime.now(UTC).isoformat()
    return {"event": "resolved", "alert_type": "rmmbridge-test", "severity": "info", "alert_time": now,
            "resolved_on": now, "agent_id": agent_id, "agent_pk": agent_pk, "hostname": hostname,
            "message": message}


class NoTestRun(Exception):
    """The server has no ``POST /core/urlaction/run/test/`` (it answered ``status``)."""

    def __init__(self, status: int | None) -> None:
        super().__init__(f"no URL action test run (HTTP {status})")
        self.status = status or 404


def _failed(item: str, exc: ProviderError) -> ProvisionStep:
    fix = exc.fix if isinstance(exc, TacticalConfigError) else None
    return ProvisionStep(item, "failed", exc.message, fix)


class TacticalAlertActions:
    """What the provider does for ``alert_actions`` and ``webhook_provisioning``."""

    def __init__(self, client: TacticalClient) -> None:
        self.client = client

    # ------------------------------------------------------------------ alerts

    async def resolve(self, external_ids: list[str]) -> None:
        pks = sorted({int(i) for i in external_ids if str(i).isdigit()})
        if len(pks) != len(set(external_ids)):
            raise ProviderConfigError("only alerts Tactical numbered can be resolved there (derived ids cannot)")
        if len(pks) == 1:
            # An alert Tactical no longer has (deleted with its agent) has nothing left to resolve,
            # as the bulk endpoint silently skips unknown pks.
            await self.client.request("PUT", f"/alerts/{pks[0]}/", json_body={"type": "resolve"},
                                      perm="can_manage_alerts", feature="resolving alerts", ok_404=True)
            return
        await self.client.request("POST", "/alerts/bulk/", json_body={"bulk_action": "resolve", "alerts": pks},
                                  perm="can_manage_alerts", feature="resolving alerts")

    async def snooze(self, external_id: str, days: int) -> None:
        if not str(external_id).isdigit():
            raise ProviderConfigError("only alerts Tactical numbered can be snoozed there")
        await self.client.request("PUT", f"/alerts/{int(external_id)}/",
                                  json_body={"type": "snooze", "snooze_days": int(days)},
                                  perm="can_manage_alerts", feature="snoozing alerts")

    # ------------------------------------------------------------------ reads

    async def _get(self, path: str, perm: str, feature: str) -> list[dict[str, Any]]:
        _, data = await self.client.get_json(path, perm=perm, feature=feature)
        if not isinstance(data, list):
            raise self.client.unexpected(self.client.url(path))
        return [row for row in data if isinstance(row, dict)]

    async def _keys(self) -> list[dict[str, Any]]:
        return await self._get("/core/keystore/", "can_view_global_keystore", "reading the global key store")

    async def _actions(self) -> list[dict[str, Any]]:
        return await self._get("/core/urlaction/", "can_run_urlactions", "reading URL actions")

    async def _templates(self) -> list[dict[str, Any]]:
        return await self._get("/alerts/templates/", "can_list_alerttemplates", "reading alert templates")

    async def _client_templates(self) -> dict[str, int | None] | None:
        """Each client's own alert template (``alert_template`` of ``/beta/v1/client/``); ``None``
        when Tactical does not say (the listing refused or malformed: the choice falls back)."""
        try:
            _, data = await self.client.get_json("/beta/v1/client/", perm="can_list_clients",
                                                 feature="reading clients")
        except ProviderError:  # "where known": the templates are still listed, without what they apply to
            return None
        if not isinstance(data, list):
            return None
        return {
            str(row["id"]): row.get("alert_template") if isinstance(row.get("alert_template"), int) else None
            for row in data if isinstance(row, dict) and isinstance(row.get("id"), int)
        }

    async def choices(self, target: WebhookTarget) -> list[AlertTemplateChoice]:
        """Tactical's alert templates for the picker, with the mapped clients each applies to.

        A client runs its own template when it has an active one, else the active default
        (``Agent.get_alert_template`` without policies and sites, which the client listing does
        not show). Preselected: active and applying to a mapped client; when the clients cannot be
        read, active and the default or applied somewhere (``applied_count``)."""
        templates = await self._templates()
        own = await self._client_templates()
        active = {t.get("id") for t in templates if t.get("is_active")}
        failure = action_names(target)[0]
        out = []
        for t in templates:
            tid, is_default = t.get("id"), bool(t.get("default_template"))
            applies: tuple[str, ...] | None = None
            if own is not None:
                applies = tuple(
                    scope for scope in target.scope_ids
                    if own.get(scope) == tid or (is_default and own.get(scope) not in active)
                )
            if applies is not None:
                in_default = bool(t.get("is_active")) and bool(applies)
            else:
                in_default = bool(t.get("is_active")) and (is_default or (t.get("applied_count") or 0) > 0)
            if t.get("action_type") == "rest":
                action = str(t.get("action_name") or "") if t.get("action_rest") is not None else ""
            else:
                action = f"{t.get('action_type')} script" if t.get("action") else ""
            out.append(AlertTemplateChoice(
                id=str(tid), name=str(t.get("name") or f"Template {tid}"), active=bool(t.get("is_active")),
                default=is_default, applies_to=applies, in_default=in_default, action=action,
                ours=action == failure,
            ))
        return out

    # ------------------------------------------------------------------ provisioning steps

    async def ensure_key(self, target: WebhookTarget) -> ProvisionStep:
        name = key_name(target)
        item = f"key store entry {name}"
        existing = next((k for k in await self._keys() if k.get("name") == name), None)
        perm, feature = "can_edit_global_keystore", "writing the global key store"
        if existing is None:
            await self.client.request("POST", "/core/keystore/", json_body={"name": name, "value": target.secret},
                                      perm=perm, feature=feature)
            return ProvisionStep(item, "created", "holds the webhook secret")
        if existing.get("value") != target.secret:
            await self.client.request("PUT", f"/core/keystore/{existing['id']}/", json_body={"value": target.secret},
                                      perm=perm, feature=feature)
            return ProvisionStep(item, "updated", "now holds the current webhook secret")
        return ProvisionStep(item, "unchanged")

    async def ensure_actions(self, target: WebhookTarget) -> tuple[list[ProvisionStep], dict[str, int]]:
        steps: list[ProvisionStep] = []
        ids: dict[str, int] = {}
        wanted = desired_actions(target)
        perm, feature = "can_edit_core_settings", "writing URL actions"
        current = {a.get("name"): a for a in await self._actions()}
        created = False
        for name, fields in wanted.items():
            found = current.get(name)
            if found is None:
                await self.client.request("POST", "/core/urlaction/", json_body=fields, perm=perm, feature=feature)
                created = True
                steps.append(ProvisionStep(f"URL action “{name}”", "created", f"POST {target.url}"))
                continue
            ids[name] = int(found["id"])
            diff = {k: v for k, v in fields.items() if found.get(k) != v}
            if diff:
                await self.client.request("PUT", f"/core/urlaction/{found['id']}/", json_body=diff, perm=perm,
                                          feature=feature)
                steps.append(ProvisionStep(f"URL action “{name}”", "updated", "changed: " + ", ".join(sorted(diff))))
            else:
                steps.append(ProvisionStep(f"URL action “{name}”", "unchanged"))
        if created:  # POST answers "ok", not the object: find what was created by its name
            again = {a.get("name"): a for a in await self._actions()}
            for name in wanted:
                if name not in ids:
                    if name not in again:
                        raise ProviderConfigError(f"Tactical accepted the URL action “{name}” but does not list it")
                    ids[name] = int(again[name]["id"])
        return steps, ids

    async def attach_templates(
        self, target: WebhookTarget, ids: dict[str, int]
    ) -> list[ProvisionStep]:
        failure, resolved = action_names(target)
        ours = {ids[failure], ids[resolved]}
        templates = await self._templates()
        picked = target.template_ids
        if picked is None:  # the default choice: what the picker preselects
            picked_by_default = {c.id for c in await self.choices(target) if c.in_default}
            chosen = [t for t in templates if str(t.get("id")) in picked_by_default]
        else:
            chosen = [t for t in templates if str(t.get("id")) in picked]
            unknown = sorted(set(picked) - {str(t.get("id")) for t in templates})
            if unknown:
                return [ProvisionStep(
                    "alert templates", "failed",
                    f"Tactical has no alert template with id {', '.join(unknown)} (deleted since the page was shown?)",
                    "Reload the page and pick again.",
                )]
        if not chosen:
            return [ProvisionStep(
                "alert templates", "failed",
                ("no alert template was picked" if picked is not None else
                 "no active alert template applies to a mapped client (none is the default or assigned to one), "
                 "so no alert would run the URL actions"),
                "In Tactical, create an alert template and set it as the default (Settings → Alerts Manager), "
                "then provision again." if picked is None else "Pick at least one alert template.",
            )]
        steps = []
        desired = {"action_type": "rest", "action_rest": ids[failure], "resolved_action_type": "rest",
                   "resolved_action_rest": ids[resolved], "agent_script_actions": True,
                   "check_script_actions": True, "task_script_actions": True}
        for t in chosen:
            item = f"alert template “{t.get('name')}”"
            other = t.get("action_rest") not in (None, *ours) or (
                t.get("action_type") in ("script", "server") and t.get("action")
            )
            if other and picked is None:
                steps.append(ProvisionStep(
                    item, "skipped",
                    f"it already runs another failure action ({t.get('action_name') or t.get('action_type')}); "
                    "a template runs one, so rmmbridge left it alone",
                    "Pick this template explicitly to replace its action with rmmbridge's.",
                ))
                continue
            diff = {k: v for k, v in desired.items() if t.get(k) != v}
            if not diff:
                steps.append(ProvisionStep(item, "unchanged"))
                continue
            await self.client.request("PUT", f"/alerts/templates/{t['id']}/", json_body=diff,
                                      perm="can_manage_alerttemplates", feature="changing alert templates")
            steps.append(ProvisionStep(item, "updated", "set: " + ", ".join(sorted(diff))))
        return steps

    async def ensure_settings(self) -> ProvisionStep:
        _, core = await self.client.get_json("/core/settings/", perm="can_view_core_settings",
                                             feature="reading global settings")
        if not isinstance(core, dict):
            raise self.client.unexpected(self.client.url("/core/settings/"))
        wanted = {"notify_on_info_alerts": True, "notify_on_warning_alerts": True}
        diff = {k: v for k, v in wanted.items() if core.get(k) is not v}
        if not diff:
            return ProvisionStep("global alert settings", "unchanged")
        await self.client.request("PUT", "/core/settings/", json_body=diff, perm="can_edit_core_settings",
                                  feature="changing global settings")
        return ProvisionStep(
            "global alert settings", "updated",
            "turned on: " + ", ".join(sorted(diff)) + " (Tactical sends actions of info/warning alerts only with "
            "these on; they also allow its e-mails and SMS for those severities)",
        )

    async def send_test(self, target: WebhookTarget) -> tuple[bool, str]:
        """One delivery through Tactical's own URL action test run, for a real agent. Raises
        :class:`NoTestRun` when the server has no such endpoint (older than the test run)."""
        if not target.test_device_id:
            return False, "no mapped agent to send a test alert for: map a client with agents first"
        body = json.dumps(test_body(
            agent_id="{{agent.agent_id}}", agent_pk="{{agent.id}}", hostname="{{agent.hostname}}",
            message="rmmbridge test alert, sent through Tactical",
        ))
        try:
            response = await self.client.request("POST", TEST_RUN_PATH, json_body={
                "pattern": target.url, "rest_method": "post", "rest_body": body,
                "rest_headers": headers_template(target), "run_instance_type": "agent",
                "run_instance_id": target.test_device_id,
            }, perm="can_run_urlactions", feature="running URL actions")
        except TacticalConfigError as exc:
            # Django answers an unknown route with its HTML 404; a proxy or an older URL table may
            # answer 405. Any other refusal (a permission, the credentials) is the answer itself.
            if exc.status in (404, 405):
                raise NoTestRun(exc.status) from exc
            raise
        data = decode_json(response, str(response.request.url))
        result = data.get("result") if isinstance(data, dict) else None
        try:
            answer = json.loads(result) if isinstance(result, str) else None
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("status") == "accepted":
            return True, f"delivered through Tactical and accepted (alert {answer.get('alert_id')})"
        detail = answer.get("detail") if isinstance(answer, dict) else result
        return False, f"Tactical sent the test but rmmbridge did not accept it: {str(detail)[:300]}"

    async def synthetic_test(self, target: WebhookTarget, status: int) -> tuple[bool, str]:
        """The fallback: the same body POSTed by rmmbridge itself to its own public webhook URL with
        the secret header, so it takes the receiver's whole path (the page shows its arrival like any
        delivery). It proves rmmbridge's side only — Tactical did not send it — and says so."""
        why = f"Tactical has no URL action test run (HTTP {status} for {TEST_RUN_PATH}; Tactical older than 1.5?)"
        body = test_body(
            agent_id=target.test_device_id or "rmmbridge-test", agent_pk="", hostname="",
            message="rmmbridge synthetic test alert (Tactical cannot run a test)",
        )
        try:
            async with self.client.ctx.http(timeout=SYNTHETIC_TIMEOUT_S) as http:
                response = await http.post(target.url, json=body, headers={target.header: target.secret})
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return False, f"synthetic test delivery ({why}) could not reach {target.url}: {reason}"
        if response.status_code == 202:
            try:
                alert_id = response.json().get("alert_id")
            except ValueError:
                alert_id = None
            return True, f"synthetic test delivery accepted (alert {alert_id}); {why}, so rmmbridge sent it itself"
        try:
            detail = response.json().get("detail")
        except (ValueError, AttributeError):
            detail = None
        return False, (f"synthetic test delivery ({why}) refused by {target.url}: HTTP {response.status_code}"
                       + (f" — {str(detail)[:200]}" if detail else ""))

    async def test(self, target: WebhookTarget) -> tuple[bool, str]:
        """Through Tactical's test run; where the server has none, a synthetic delivery."""
        try:
            return await self.send_test(target)
        except NoTestRun as missing:
            return await self.synthetic_test(target, missing.status)
        except ProviderError as exc:  # refused, failing or unreachable: the answer, not a reason to fake one
            return False, exc.message

    # ------------------------------------------------------------------ the operations

    async def provision(self, target: WebhookTarget, *, send_test: bool) -> ProvisionReport:
        steps: list[ProvisionStep] = []
        try:
            steps.append(await self.ensure_key(target))
            action_steps, ids = await self.ensure_actions(target)
            steps.extend(action_steps)
            steps.extend(await self.attach_templates(target, ids))
            steps.append(await self.ensure_settings())
        except TacticalConfigError as exc:
            steps.append(_failed("provisioning", exc))
            return ProvisionReport(steps)
        tested, detail = (None, None)
        if send_test:
            tested, detail = await self.test(target)
        return ProvisionReport(steps, tested, detail)

    async def update_secret(self, target: WebhookTarget) -> ProvisionReport:
        try:
            return ProvisionReport([await self.ensure_key(target)])
        except TacticalConfigError as exc:
            return ProvisionReport([_failed(f"key store entry {key_name(target)}", exc)])

    async def remove(self, target: WebhookTarget) -> ProvisionReport:
        steps: list[ProvisionStep] = []
        try:
            names = set(action_names(target))
            for action in await self._actions():
                if action.get("name") in names:
                    # Templates pointing at it are set to no action by Tactical (on_delete=SET_NULL).
                    await self.client.request("DELETE", f"/core/urlaction/{action['id']}/",
                                              perm="can_edit_core_settings", feature="deleting URL actions")
                    steps.append(ProvisionStep(f"URL action “{action['name']}”", "removed"))
            for key in await self._keys():
                if key.get("name") == key_name(target):
                    await self.client.request("DELETE", f"/core/keystore/{key['id']}/",
                                              perm="can_edit_global_keystore", feature="writing the global key store")
                    steps.append(ProvisionStep(f"key store entry {key['name']}", "removed"))
        except TacticalConfigError as exc:
            steps.append(_failed("removing the webhook", exc))
        return ProvisionReport(steps)

    async def hints(self, target: WebhookTarget, missed: list[AlertEvent]) -> list[str]:
        """Specific causes, from what Tactical reports, for alerts that never arrived by webhook."""
        if not missed:
            return []
        hints: list[str] = []
        try:
            actions = {a.get("name"): a for a in await self._actions()}
            failure = action_names(target)[0]
            if failure not in actions:
                return [f"The URL action “{failure}” is not in Tactical: provision the webhook again."]
            ours = int(actions[failure]["id"])
            templates = [t for t in await self._templates() if t.get("action_rest") == ours]
            active = [t for t in templates if t.get("is_active")]
            if not active:
                return ["No active alert template runs the rmmbridge URL action (template not attached): "
                        "provision again or attach it in Tactical's Alerts Manager."]
            kinds = {e.alert_type for e in missed}
            for t in active:
                if t.get("action_type") != "rest":
                    hints.append(f"Alert template “{t.get('name')}” has its failure action type set to "
                                 f"{t.get('action_type')}, not REST.")
                for kind in sorted(k for k in kinds if k in TOGGLES):
                    toggle = TOGGLES[kind]
                    if not t.get(toggle):
                        hints.append(f"Alert template “{t.get('name')}” has “{TOGGLE_LABELS[toggle]}” off "
                                     f"({toggle}): {kind} alerts send no webhook.")
            _, core = await self.client.get_json("/core/settings/", perm="can_view_core_settings",
                                                 feature="reading global settings")
            core = core if isinstance(core, dict) else {}
            for severity, flag in (("info", "notify_on_info_alerts"), ("warning", "notify_on_warning_alerts")):
                count = sum(1 for e in missed if e.severity == severity)
                if count and not core.get(flag):
                    hints.append(f"{count} missed alert(s) are {severity} severity and Tactical's global setting "
                                 f"{flag} is off (info/warning alerts disabled): Tactical runs no action for them.")
            in_maintenance = await self._maintenance([e.device_ref for e in missed if e.device_ref][:20])
            if in_maintenance:
                hints.append(f"{len(in_maintenance)} agent(s) with missed alerts are in maintenance mode "
                             f"({', '.join(sorted(in_maintenance)[:5])}): Tactical runs no alert action for them.")
        except ProviderError as exc:
            hints.append(f"Could not read Tactical's alert configuration: {exc.message}")
        return hints

    async def _maintenance(self, agent_pks: list[str]) -> list[str]:
        names = []
        for pk in sorted(set(agent_pks)):
            status, data = await self.client.get_json(f"/beta/v1/agent/{pk}/", perm="can_list_agents", ok_404=True)
            if status == 200 and isinstance(data, dict) and data.get("maintenance_mode"):
                names.append(str(data.get("hostname") or pk))
        return names
