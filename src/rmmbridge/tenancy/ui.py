"""UI: sign-in, sign-out and first-run setup."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from rmmbridge.errors import AppError, NotFound, Unauthorized
from rmmbridge.storage.db import unit_of_work
from rmmbridge.storage.models import User
from rmmbridge.web.deps import DB, SESSION_COOKIE, State, session_auth
from rmmbridge.web.throttles import retry_after, source_address, throttles_of
from rmmbridge.web.ui import csrf
from rmmbridge.web.ui.render import render

from . import service

router = APIRouter(include_in_schema=False)
# Sign-in events are the audit trail of password logins (decisions.md, "Guessing throttles").
audit = structlog.get_logger("rmmbridge.audit")


def _safe_next(value: str | None) -> str:
    # Only same-site relative paths: never an open redirect to another host.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def _login_response(
    request: Request, state: State, db: DB, user_email: str, password: str, *, created: User | None = None
) -> Response:
    """Sign in (``created``: the user first-run setup just made in ``db``, already known)."""
    throttles, address = throttles_of(state), source_address(request)
    account = user_email.strip().lower()
    waits = [w for w in (throttles.login_account.wait(account), throttles.login_address.wait(address)) if w]
    if waits:
        audit.warning("login_throttled", email=account, address=address, retry_after_s=round(max(waits), 1))
        raise _TooManyAttempts(max(waits))
    try:
        if created is not None:
            user = created
        else:
            async with unit_of_work(state.sessionmaker, read_only=True) as reader:
                ids = await service.check_password(reader, user_email, password)
            user = await service.record_sign_in(db, ids)
    except Unauthorized:
        account_wait = throttles.login_account.failed(account)
        address_wait = throttles.login_address.failed(address)
        audit.warning(
            "login_failed",
            email=account,
            address=address,
            account_failures=throttles.login_account.failures(account),
            backoff_s=max(account_wait or 0, address_wait or 0),
        )
        raise
    # The address counter is not reset: one valid account must not buy a guesser fresh attempts.
    throttles.login_account.succeeded(account)
    audit.info("login_succeeded", email=account, address=address, user_id=str(user.id))
    # Rotate: the session this browser held before signing in ends (no session fixation, and a
    # re-login leaves nothing valid behind).
    if previous := request.cookies.get(SESSION_COOKIE):
        await service.end_session(db, previous)
    new = await service.start_session(db, user, state.settings.session_max_age_s)
    form_next = (await request.form()).get("next")
    response = RedirectResponse(_safe_next(str(form_next) if form_next else None), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        new.cookie_value,
        httponly=True,
        samesite="lax",
        secure=state.settings.cookies_secure,
        max_age=state.settings.session_max_age_s,
    )
    response.delete_cookie(csrf.ANON_COOKIE)
    return response


class _TooManyAttempts(Unauthorized):
    def __init__(self, wait: float) -> None:
        super().__init__(f"Too many failed sign-ins; try again in {retry_after(wait)} seconds.")
        self.retry_after = retry_after(wait)


@router.get("/login")
async def login_page(request: Request, db: DB, next: str = "/") -> Response:
    if not await service.any_user_exists(db):
        return RedirectResponse("/setup", status_code=303)
    if await session_auth(request, db):
        return RedirectResponse(_safe_next(next), status_code=303)
    csrf.prepare_anonymous(request)
    return render(request, "login.html", next=_safe_next(next), error=None, email="")


@router.post("/login")
async def login(request: Request, state: State, db: DB) -> Response:
    form = await request.form()
    csrf.check_anonymous(request, form.get(csrf.FIELD))  # type: ignore[arg-type]
    email = str(form.get("email", ""))
    try:
        return await _login_response(request, state, db, email, str(form.get("password", "")))
    except Unauthorized as exc:
        csrf.prepare_anonymous(request)
        response = render(
            request,
            "login.html",
            status_code=429 if isinstance(exc, _TooManyAttempts) else 401,
            next=_safe_next(str(form.get("next") or "/")),
            error=exc.detail,
            email=email,
        )
        if isinstance(exc, _TooManyAttempts):
            response.headers["Retry-After"] = exc.retry_after
        return response


@router.post("/logout")
async def logout(request: Request, db: DB) -> Response:
    auth = await session_auth(request, db)
    if auth is not None:
        form = await request.form()
        csrf.check(auth, form.get(csrf.FIELD))  # type: ignore[arg-type]
        await service.end_session(db, request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/setup")
async def setup_page(request: Request, db: DB) -> Response:
    if await service.any_user_exists(db):
        raise NotFound("setup is complete; sign in instead")
    csrf.prepare_anonymous(request)
    return render(request, "setup.html", error=None, form={})


@router.post("/setup")
async def setup(request: Request, state: State, db: DB) -> Response:
    if await service.any_user_exists(db):
        raise NotFound("setup is complete; sign in instead")
    form = await request.form()
    csrf.check_anonymous(request, form.get(csrf.FIELD))  # type: ignore[arg-type]
    values = {k: str(form.get(k, "")) for k in ("tenant", "email", "password", "password2")}
    try:
        if values["password"] != values["password2"]:
            raise AppError("the two passwords differ")
        tenant = await service.create_tenant(db, values["tenant"])
        user = await service.create_user(db, tenant.id, values["email"], values["password"], "admin")
        return await _login_response(request, state, db, values["email"], values["password"], created=user)
    except AppError as exc:
        await db.rollback()
        csrf.prepare_anonymous(request)
        values.pop("password"), values.pop("password2")
        return render(request, "setup.html", status_code=exc.status_code, error=exc.detail, form=values)
