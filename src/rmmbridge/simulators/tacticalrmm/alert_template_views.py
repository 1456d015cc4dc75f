"""``/alerts/templates/`` and ``/alerts/templates/<pk>/`` (Tactical 1.5 ``alerts/views.py``).

``AlertTemplatePerms``: GET needs ``can_list_alerttemplates``, writes ``can_manage_alerttemplates``
(and ``can_run_server_scripts`` too when an action type is ``server``). ``PUT`` is a partial
update answering ``"ok"``; the listing carries the read-only ``default_template``,
``action_name``, ``resolved_action_name`` and ``applied_count``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.responses import Response

from .alert_actions import TOGGLES, AlertTemplate
from .auth import TacticalUser
from .responses import ApiError, json_response, not_found
from .state import ApiRequest

ACTION_TYPES = ("script", "server", "rest")


def template_perms(req: ApiRequest, user: TacticalUser, _params: dict[str, str]) -> bool:
    if req.method == "GET":
        return user.has_perm("can_list_alerttemplates")
    if req.method in ("POST", "PUT", "PATCH"):
        try:
            data = req.data()
        except ApiError:
            data = None
        if isinstance(data, dict) and "server" in (data.get("action_type"), data.get("resolved_action_type")):
            return user.has_perm("can_run_server_scripts") and user.has_perm("can_manage_alerttemplates")
    return user.has_perm("can_manage_alerttemplates")


def template_json(req: ApiRequest, template: AlertTemplate) -> dict[str, Any]:
    store = req.state.actions
    out = asdict(template)
    out.pop("clients")
    rest = store.urlactions.get(template.action_rest or 0)
    resolved_rest = store.urlactions.get(template.resolved_action_rest or 0)
    out.update(
        default_template=store.core.get("alert_template") == template.id,
        action_name=rest.name if template.action_type == "rest" and rest else "",
        resolved_action_name=resolved_rest.name if template.resolved_action_type == "rest" and resolved_rest else "",
        applied_count=len(template.clients),
        agent_settings=False, check_settings=False, task_settings=False, core_settings=False,
    )
    return out


def templates_list(req: ApiRequest) -> Response:
    items = sorted(req.state.actions.templates.values(), key=lambda t: t.id)
    return json_response([template_json(req, t) for t in items])


def _template(req: ApiRequest, pk: str) -> AlertTemplate:
    template = req.state.actions.templates.get(int(pk))
    if template is None:
        raise not_found("AlertTemplate")
    return template


def template_get(req: ApiRequest, pk: str) -> Response:
    return json_response(template_json(req, _template(req, pk)))


def template_put(req: ApiRequest, pk: str) -> Response:
    template = _template(req, pk)
    data = req.data()
    if not isinstance(data, dict):
        raise ApiError(400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    store = req.state.actions
    errors: dict[str, list[str]] = {}
    for key in ("action_type", "resolved_action_type"):
        if key in data and data[key] not in ACTION_TYPES:
            errors[key] = [f'"{data[key]}" is not a valid choice.']
    for key in ("action_rest", "resolved_action_rest"):
        if key in data and data[key] is not None and data[key] not in store.urlactions:
            errors[key] = [f'Invalid pk "{data[key]}" - object does not exist.']
    for key in (*TOGGLES, "is_active"):
        if key in data and not isinstance(data[key], bool | None):
            errors[key] = ["Must be a valid boolean."]
    if errors:
        raise ApiError(400, errors)
    for key in ("name", "action_type", "action_rest", "resolved_action_type", "resolved_action_rest", "is_active",
                *TOGGLES):
        if key in data:
            setattr(template, key, data[key])
    return json_response("ok")
