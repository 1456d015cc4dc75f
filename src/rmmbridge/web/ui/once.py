"""Show a secret once across a post/redirect/get.

A state-changing form (rotate a webhook secret, create an API token) must redirect after its POST
so a reload cannot repeat it; but the new secret has to reach the page the browser lands on. It
travels in a short-lived cookie, encrypted (AES-GCM under a key derived from the master key),
HttpOnly, SameSite=Strict, scoped to the landing page's path and bound to the user's session; the
landing page opens it and deletes it, so a reload shows the secret no more.
"""

from __future__ import annotations

import base64
import json
import os
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import Request
from fastapi.responses import Response

from rmmbridge.state import AppState
from rmmbridge.tenancy.auth import SessionAuth

COOKIE = "rmmbridge_once"
MAX_AGE_S = 120


def _aead(state: AppState) -> AESGCM:
    # A keyed digest of a fixed label: a key of its own, derived from the master key.
    return AESGCM(bytes.fromhex(state.secrets.digest("rmmbridge/ui-once-cookie/v1")))


def put(response: Response, state: AppState, auth: SessionAuth, path: str, value: str) -> Response:
    """Attach ``value`` to the redirect ``response`` for the page at ``path``."""
    nonce = os.urandom(12)
    payload = json.dumps({"v": value, "p": path, "exp": time.time() + MAX_AGE_S}).encode()
    blob = nonce + _aead(state).encrypt(nonce, payload, auth.csrf_token.encode())
    response.set_cookie(
        COOKIE,
        base64.urlsafe_b64encode(blob).decode(),
        max_age=MAX_AGE_S,
        path=path,
        httponly=True,
        samesite="strict",
        secure=state.settings.cookies_secure,
    )
    return response


def take(request: Request, state: AppState, auth: SessionAuth, path: str) -> str | None:
    """The value put for this page in this session, if any (then :func:`forget` it)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        blob = base64.urlsafe_b64decode(raw.encode())
        data = json.loads(_aead(state).decrypt(blob[:12], blob[12:], auth.csrf_token.encode()))
    except Exception:  # tampered, another session's, or an old key: nothing to show
        return None
    if data.get("p") != path or float(data.get("exp", 0)) < time.time():
        return None
    return str(data["v"])


def forget(response: Response, path: str) -> Response:
    response.delete_cookie(COOKIE, path=path)
    return response
