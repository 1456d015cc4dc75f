"""Knox sign-in: ``/v2/checkcreds/``, ``/v2/login/``, ``/logout/``, ``/logoutall/`` (reference §2.4-§2.5)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from .auth import CHECKCREDS_TTL, KNOX_TTL, TacticalUser
from .responses import ApiError, json_response, server_error
from .serializers import iso
from .state import ApiRequest
from .totp import verify_totp

BAD_CREDENTIALS = "Bad credentials"


def _data(req: ApiRequest) -> dict[str, Any]:
    data = req.data()
    if not isinstance(data, dict):
        raise server_error()  # request.data["username"] on a list
    return data


def _auth_token_serializer(req: ApiRequest, data: dict[str, Any]) -> tuple[dict[str, list[str]], TacticalUser | None]:
    """DRF's ``AuthTokenSerializer``: field errors first, then Django's ``authenticate``."""
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for name in ("username", "password"):
        raw = data.get(name)
        if name not in data:
            errors[name] = ["This field is required."]
        elif raw is None:
            errors[name] = ["This field may not be null."]
        elif isinstance(raw, bool | list | dict):
            errors[name] = ["Not a valid string."]
        else:
            text = str(raw).strip() if name == "username" else str(raw)  # password: trim_whitespace=False
            if text == "":
                errors[name] = ["This field may not be blank."]
            else:
                values[name] = text
    if errors:
        return errors, None
    user = req.state.auth.check_password(values["username"], values["password"])
    if user is None:
        return {"non_field_errors": ["Unable to log in with provided credentials."]}, None
    return {}, user


def checkcreds(req: ApiRequest) -> Response:
    data = _data(req)
    _errors, user = _auth_token_serializer(req, data)
    if user is None:
        if "username" not in data:
            raise server_error()  # AuditLog.audit_user_failed_login(request.data["username"]) -> KeyError
        raise ApiError(400, BAD_CREDENTIALS)
    if user.block_dashboard_login or user.is_sso_user:
        raise ApiError(400, BAD_CREDENTIALS)
    if not user.totp_secret:
        token = req.state.auth.issue_token(user.username, req.now, CHECKCREDS_TTL)
        return json_response({"expiry": iso(token.expiry), "token": token.token, "totp": False})
    return json_response({"totp": True})


def login(req: ApiRequest) -> Response:
    data = _data(req)
    errors, user = _auth_token_serializer(req, data)
    if user is None:
        raise ApiError(400, errors)
    if user.block_dashboard_login or user.is_sso_user:
        raise ApiError(400, BAD_CREDENTIALS)
    if "twofactor" not in data:
        raise server_error()  # KeyError: 'twofactor'
    if not user.totp_secret:
        raise server_error()  # pyotp.TOTP(None) raises
    if not verify_totp(user.totp_secret, data["twofactor"], req.now, valid_window=10):
        raise ApiError(400, BAD_CREDENTIALS)
    token = req.state.auth.issue_token(user.username, req.now, KNOX_TTL)
    return json_response({"expiry": iso(token.expiry), "token": token.token, "username": user.username, "name": None})


def logout(req: ApiRequest) -> Response:
    assert req.principal is not None and req.principal.token is not None
    req.state.auth.revoke(req.principal.token.token)
    return Response(status_code=204, headers={"Vary": "Accept, Cookie"})


def logout_all(req: ApiRequest) -> Response:
    assert req.principal is not None
    req.state.auth.revoke_user(req.principal.user.username)
    return Response(status_code=204, headers={"Vary": "Accept, Cookie"})
