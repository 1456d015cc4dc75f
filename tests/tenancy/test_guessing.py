"""Issue #14 item 10 (and the session part of 14): password and API-token guessing backs off per
account and per address, is logged as audit events, and hashing never blocks the event loop;
signing in rotates the session."""

from __future__ import annotations

import asyncio
import uuid

from structlog.testing import capture_logs

from rmmbridge.tenancy.passwords import hash_password, verify_password_async
from rmmbridge.web.ui.csrf import ANON_COOKIE
from tests.support.throttle_clock import client_from
from tests.support.throttle_clock import clock as clock
from tests.web.test_ui_auth import csrf_of


def address() -> str:
    return f"203.0.113.{uuid.uuid4().int % 250 + 1}"


async def sign_in(client, email: str, password: str):  # type: ignore[no-untyped-def]
    page = await client.get("/login")
    return await client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_of(page.text)})


async def test_wrong_passwords_for_one_account_back_off_whatever_the_address(app, tenant, clock):
    email = tenant.emails["viewer"]
    with capture_logs() as logs:
        for i in range(6):  # five free failures, the sixth starts the backoff; each from a new address
            async with client_from(app, f"198.51.100.{i + 1}") as client:
                assert (await sign_in(client, email, "wrong password!")).status_code == 401
        async with client_from(app, "198.51.100.99") as client:
            r = await sign_in(client, email, tenant.password)  # the right password, too soon
            assert r.status_code == 429 and r.headers["Retry-After"] == "1"
            assert "Too many failed sign-ins" in r.text and "rmmbridge_session" not in r.cookies
            clock.now += 1.0
            r = await sign_in(client, email, tenant.password)
            assert r.status_code == 303 and "rmmbridge_session" in r.cookies
    failed = [e for e in logs if e["event"] == "login_failed"]
    assert len(failed) == 6 and {e["email"] for e in failed} == {email}
    assert failed[-1]["account_failures"] == 6 and failed[-1]["backoff_s"] == 1.0
    assert [e["address"] for e in logs if e["event"] == "login_throttled"] == ["198.51.100.99"]
    assert any(e["event"] == "login_succeeded" and e["email"] == email for e in logs)
    assert all("wrong password!" not in str(e) and tenant.password not in str(e) for e in logs)


async def test_one_address_guessing_many_accounts_backs_off(app, tenant, clock):
    guesser = address()
    async with client_from(app, guesser) as client:
        for i in range(21):
            r = await sign_in(client, f"nobody-{i}-{uuid.uuid4().hex[:6]}@example.com", "wrong password!")
            assert r.status_code == 401
        r = await sign_in(client, tenant.emails["admin"], tenant.password)
        assert r.status_code == 429  # even a real account, from the guessing address
        # The doubling: one more failure after the wait, then two seconds.
        clock.now += 1.0
        assert (await sign_in(client, "nobody@example.com", "wrong password!")).status_code == 401
        r = await sign_in(client, tenant.emails["admin"], tenant.password)
        assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    async with client_from(app, address()) as other:  # other addresses are not affected
        assert (await sign_in(other, tenant.emails["admin"], tenant.password)).status_code == 303


async def test_api_token_guessing_backs_off_per_address(app, tenant, clock):
    guesser = address()
    async with client_from(app, guesser) as client:
        with capture_logs() as logs:
            for i in range(21):
                r = await client.get(
                    "/api/v1/clients", headers={"Authorization": f"Bearer guess-{i}-{uuid.uuid4().hex}"}
                )
                assert r.status_code == 401
            r = await client.get("/api/v1/clients", headers=tenant.headers())
            assert r.status_code == 429 and r.headers["Retry-After"] == "1"
            assert r.json()["type"].endswith("/rate-limited")
        rejected = [e for e in logs if e["event"] == "api_token_rejected"]
        assert len(rejected) == 21 and rejected[-1]["address"] == guesser and rejected[-1]["backoff_s"] == 1.0
        assert [e["event"] for e in logs if e["event"] == "api_token_throttled"] == ["api_token_throttled"]
        clock.now += 1.0
        assert (await client.get("/api/v1/clients", headers=tenant.headers())).status_code == 200
    async with client_from(app, address()) as other:
        assert (await other.get("/api/v1/clients", headers=tenant.headers())).status_code == 200


async def test_password_verification_leaves_the_event_loop_running() -> None:
    stored = hash_password("correct horse battery")
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    results = await asyncio.gather(*(verify_password_async(stored, f"guess {i}") for i in range(4)))
    during = ticks - before
    done.set()
    await task
    assert results == [False] * 4
    assert during > 10  # on the loop, the ticker could not run at all while argon2 worked


async def test_signing_in_rotates_the_session(app, tenant):
    async with client_from(app, address()) as client:
        page = await client.get("/login")
        form = {"email": tenant.emails["admin"], "password": tenant.password, "csrf_token": csrf_of(page.text)}
        anonymous = client.cookies[ANON_COOKIE]
        r = await client.post("/login", data=form)
        first = r.cookies["rmmbridge_session"]
        client.cookies.set(ANON_COOKIE, anonymous)  # the same form sent again (a second tab) …
        r = await client.post("/login", data=form)  # … while the browser still sends `first`
        second = r.cookies["rmmbridge_session"]
        assert second != first
        assert (await client.get("/clients")).status_code == 200
    async with client_from(app, address()) as replay:
        replay.cookies.set("rmmbridge_session", first)
        assert (await replay.get("/clients")).status_code == 303  # the old session ended
