"""``/core/keystore/``, ``/core/urlaction/``, ``/core/urlaction/run/test/`` and ``/core/settings/``
(Tactical 1.5 ``core/views.py``; see ``alert_actions.py`` for the facts mirrored).

Permissions (``core/permissions.py``): key store GET needs ``can_view_global_keystore``, writes
``can_edit_global_keystore``; URL action GET and the test run need ``can_run_urlactions``, every
other write ``can_edit_core_settings`` (``UpdateDeleteURLAction`` uses ``CoreSettingsPerms``);
core settings GET ``can_view_core_settings``, PUT ``can_edit_core_settings``. A denied request
gets DRF's 403 ``{"detail": "You do not have permission to perform this action."}``.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from starlette.responses import Response

from .alert_actions import KEY_NAME_MAX, KeyStoreEntry, URLAction, render, send_rest
from .auth import TacticalUser
from .responses import ApiError, json_response, not_found, server_error
from .serializers import iso
from .state import ApiRequest

URL_ACTION_TYPES = ("web", "rest")
REST_METHODS = ("get", "post", "put", "delete", "patch")


def _json(obj: Any) -> dict[str, Any]:
    return {k: iso(v) if isinstance(v, datetime) else v for k, v in asdict(obj).items()}


def _data(req: ApiRequest) -> dict[str, Any]:
    data = req.data()
    if not isinstance(data, dict):
        raise ApiError(400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    return data


def _pk(value: str) -> int:
    return int(value)


def _user(req: ApiRequest) -> str:
    return req.principal.user.username if req.principal else ""


# ---------------------------------------------------------------------- permissions


def keystore_perms(req: ApiRequest, user: TacticalUser, _params: dict[str, str]) -> bool:
    return user.has_perm("can_view_global_keystore" if req.method == "GET" else "can_edit_global_keystore")


def urlaction_perms(req: ApiRequest, user: TacticalUser, _params: dict[str, str]) -> bool:
    if req.method in ("GET", "PATCH"):
        return user.has_perm("can_run_urlactions")
    if req.path == "/core/urlaction/run/test/" and req.method == "POST":
        return user.has_perm("can_run_urlactions")
    return user.has_perm("can_edit_core_settings")


def core_settings_perms(req: ApiRequest, user: TacticalUser, _params: dict[str, str]) -> bool:
    return user.has_perm("can_view_core_settings" if req.method == "GET" else "can_edit_core_settings")


# ---------------------------------------------------------------------- key store


def _validate_key(data: dict[str, Any], *, creating: bool) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if "name" in data:
        if not isinstance(data["name"], str) or not data["name"]:
            errors["name"] = ["This field may not be blank."]
        elif len(data["name"]) > KEY_NAME_MAX:
            errors["name"] = [f"Ensure this field has no more than {KEY_NAME_MAX} characters."]
    if "value" in data and (not isinstance(data["value"], str) or data["value"] == ""):
        errors["value"] = ["This field may not be blank."]
    return errors


def keystore_list(req: ApiRequest) -> Response:
    return json_response([_json(k) for k in sorted(req.state.actions.keystore.values(), key=lambda k: k.id)])


def keystore_add(req: ApiRequest) -> Response:
    data = _data(req)
    if errors := _validate_key(data, creating=True):
        raise ApiError(400, errors)
    if "name" not in data or "value" not in data:
        raise server_error()  # partial=True: the NOT NULL column fails in the database
    store = req.state.actions
    entry = KeyStoreEntry(store.next_id("key"), data["name"], data["value"], _user(req), req.now, _user(req), req.now)
    store.keystore[entry.id] = entry
    return json_response("ok")


def _key(req: ApiRequest, pk: str) -> KeyStoreEntry:
    entry = req.state.actions.keystore.get(_pk(pk))
    if entry is None:
        raise not_found("GlobalKVStore")
    return entry


def keystore_put(req: ApiRequest, pk: str) -> Response:
    entry = _key(req, pk)
    data = _data(req)
    if errors := _validate_key(data, creating=False):
        raise ApiError(400, errors)
    entry.name = data.get("name", entry.name)
    entry.value = data.get("value", entry.value)
    entry.modified_by, entry.modified_time = _user(req), req.now
    return json_response("ok")


def keystore_delete(req: ApiRequest, pk: str) -> Response:
    entry = _key(req, pk)
    del req.state.actions.keystore[entry.id]
    return json_response("ok")


# ---------------------------------------------------------------------- URL actions

_ACTION_FIELDS = {f.name for f in fields(URLAction)} - {"id", "created_by", "created_time", "modified_by",
                                                         "modified_time"}


def _validate_action(data: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in ("name", "pattern"):
        if name in data and (not isinstance(data[name], str) or not data[name]):
            errors[name] = ["This field may not be blank."]
    if isinstance(data.get("name"), str) and len(data["name"]) > 255:
        errors["name"] = ["Ensure this field has no more than 255 characters."]
    if "action_type" in data and data["action_type"] not in URL_ACTION_TYPES:
        errors["action_type"] = [f'"{data["action_type"]}" is not a valid choice.']
    if "rest_method" in data and data["rest_method"] not in REST_METHODS:
        errors["rest_method"] = [f'"{data["rest_method"]}" is not a valid choice.']
    return errors


def urlaction_list(req: ApiRequest) -> Response:
    return json_response([_json(a) for a in sorted(req.state.actions.urlactions.values(), key=lambda a: a.id)])


def urlaction_add(req: ApiRequest) -> Response:
    data = _data(req)
    if errors := _validate_action(data):
        raise ApiError(400, errors)
    if "name" not in data or "pattern" not in data:
        raise server_error()
    store = req.state.actions
    values = {k: v for k, v in data.items() if k in _ACTION_FIELDS}
    action = URLAction(id=store.next_id("urlaction"), created_by=_user(req), created_time=req.now,
                       modified_by=_user(req), modified_time=req.now, **values)
    store.urlactions[action.id] = action
    return json_response("ok")  # not the object: clients find it again by name


def _action(req: ApiRequest, pk: str) -> URLAction:
    action = req.state.actions.urlactions.get(_pk(pk))
    if action is None:
        raise not_found("URLAction")
    return action


def urlaction_put(req: ApiRequest, pk: str) -> Response:
    action = _action(req, pk)
    data = _data(req)
    if errors := _validate_action(data):
        raise ApiError(400, errors)
    for key, value in data.items():
        if key in _ACTION_FIELDS:
            setattr(action, key, value)
    action.modified_by, action.modified_time = _user(req), req.now
    return json_response("ok")


def urlaction_delete(req: ApiRequest, pk: str) -> Response:
    action = _action(req, pk)
    store = req.state.actions
    del store.urlactions[action.id]
    for template in store.templates.values():  # on_delete=SET_NULL
        if template.action_rest == action.id:
            template.action_rest = None
        if template.resolved_action_rest == action.id:
            template.resolved_action_rest = None
    return json_response("ok")


async def urlaction_run_test(req: ApiRequest) -> Response:
    """``RunTestURLAction``: render against the given instance and send once; answers what was sent.

    Without an instance (``run_instance_type`` "none") nothing is replaced, ``{{global.…}}`` included.
    """
    data = _data(req)
    errors: dict[str, list[str]] = {}
    for name in ("pattern", "rest_method"):
        if name not in data:
            errors[name] = ["This field is required."]
    if data.get("rest_method") not in (None, *REST_METHODS):
        errors["rest_method"] = [f'"{data["rest_method"]}" is not a valid choice.']
    kind = data.get("run_instance_type")
    if kind not in ("agent", "client", "site", "none"):
        errors["run_instance_type"] = [
            "This field is required." if kind is None else f'"{kind}" is not a valid choice.'
        ]
    if errors:
        raise ApiError(400, errors)
    fleet, store = req.fleet, req.state.actions
    instance_id = data.get("run_instance_id")
    agent_pk: int | None = None
    client_id: int | None = None
    if kind == "agent":
        found = next((a for a in fleet.agents.values() if a.agent_id == instance_id), None)
        if found is None:
            raise server_error()  # Model.objects.get raises DoesNotExist
        agent_pk = found.pk
    elif kind == "client":
        client_id = int(instance_id)
        if client_id not in fleet.clients:
            raise server_error()

    def rendered(text: str | None) -> str:
        if kind == "none" or not instance_id:
            return text or ""
        return render(text, fleet, store, None, agent_pk, client_id)

    url, body = rendered(data["pattern"]), rendered(data.get("rest_body", ""))
    status, text = await send_rest(req.state, url=url, method=data["rest_method"], body=body,
                                   headers=rendered(data.get("rest_headers", "")))
    from .alert_actions import DeliveryRecord

    store.deliveries.append(DeliveryRecord(0, None, "test", url, status, text[:500], req.now))
    return json_response({"url": url, "result": text, "body": body})


# ---------------------------------------------------------------------- core settings


def settings_get(req: ApiRequest) -> Response:
    core = req.state.actions.core
    return json_response({"id": 1, **core, "all_timezones": ["UTC"]})


def settings_put(req: ApiRequest) -> Response:
    data = _data(req)
    core = req.state.actions.core
    errors: dict[str, list[str]] = {}
    for key in ("notify_on_info_alerts", "notify_on_warning_alerts"):
        if key in data:
            if not isinstance(data[key], bool):
                errors[key] = ["Must be a valid boolean."]
            else:
                core[key] = data[key]
    if errors:
        raise ApiError(400, errors)
    return json_response("ok")
