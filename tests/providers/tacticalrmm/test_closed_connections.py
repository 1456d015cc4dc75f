"""Tactical behind uWSGI: the simulator on a loopback port closes each kept-alive connection after its
response (issue #12, item 1). The connection test and sign-in must succeed every time, the requests
lost on dead connections must have been sent again (once), and nothing the server processed is
sent twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from rmmbridge.kit.http import RoutedTransport
from rmmbridge.providers.base import ProviderRetriableError
from rmmbridge.simulators.connections import ConnectionPolicy, Exchange
from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS, create_app, generate_fleet, totp
from tests.support.live_server import SimulatorServer

from . import NOW, Clock, Made, make_provider

CREDS = DEFAULT_CREDENTIALS
REPETITIONS = 50  # the sign-in failed 6 times in 17: 50 in a row cannot pass by luck
FULL_TEST_REPETITIONS = 20  # whole connection tests of the sign-in modes (15-25 requests each)


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def app(clock: Clock) -> Any:
    fleet = generate_fleet(seed=5, clients=3, agents=20, sites_per_client=2, now=NOW)
    return create_app(fleet, clock=clock, login_rate_per_minute=10_000, login_rate_per_day=100_000)


@pytest.fixture(scope="module")
def server(app: Any) -> Iterator[SimulatorServer]:
    with SimulatorServer(app) as running:  # closing connections, as uWSGI does: the default
        yield running


@pytest.fixture
def policy(server: SimulatorServer) -> Iterator[ConnectionPolicy]:
    server.policy.log.clear()
    yield server.policy
    server.policy.drops.clear()


def provider(server: SimulatorServer, clock: Clock, **config: Any) -> Made:
    return make_provider(
        None,
        host=f"127.0.0.1:{server.port}",
        scheme="http",
        allow_insecure_url=True,
        clock=clock,
        transport=RoutedTransport(),  # nothing routed in-process: every request goes over the network
        **config,
    )


def assert_lost_requests_were_sent_again(log: list[Exchange]) -> list[Exchange]:
    """Every request dropped unread on a reused connection was later served as the first request of a
    new connection (requests run concurrently, so the re-send need not be the next log entry)."""
    lost = [e for e in log if e.outcome == "dropped_unread"]
    waiting: Counter[tuple[str, str]] = Counter()
    for e in log:
        if e.outcome == "dropped_unread":
            assert e.index > 1  # only ever on a connection that had carried an answer
            waiting[(e.method, e.path)] += 1
        elif e.outcome == "served" and e.index == 1 and waiting[(e.method, e.path)]:
            waiting[(e.method, e.path)] -= 1
    assert +waiting == Counter(), f"lost and never sent again: {dict(+waiting)}"
    assert not [e for e in log if e.outcome == "dropped_after_processing"]
    return lost


async def test_api_key_connection_test_succeeds_every_time(
    server: SimulatorServer, policy: ConnectionPolicy, clock: Clock
) -> None:
    for _ in range(REPETITIONS):
        made = provider(server, clock)
        checks = await made.provider.test_connection()
        assert all(c.ok for c in checks), checks
        assert made.sleeps == []  # re-sent at once on a new connection, not after a backoff
        await made.provider.aclose()
    lost = assert_lost_requests_were_sent_again(policy.exchanges())
    assert len(lost) >= 2 * REPETITIONS  # PATCH /alerts/ and later calls landed on closed connections
    assert {("PATCH", "/alerts/")} <= {(e.method, e.path) for e in lost}


async def test_totp_sign_in_succeeds_every_time(
    server: SimulatorServer, policy: ConnectionPolicy, clock: Clock, app: Any
) -> None:
    """The issue's sequence: checkcreds answered, then login sent on the connection uWSGI closed."""
    for _ in range(REPETITIONS):
        clock.advance(seconds=30)  # a new one-time code each time
        made = provider(server, clock, auth_mode="password", username=CREDS.totp_username,
                        password=CREDS.totp_password)  # fmt: skip
        await made.provider.client.login(totp(CREDS.totp_secret, clock()), interactive=True)
        assert made.saved["token"] in app.auth.tokens
        await made.provider.aclose()
    lost = assert_lost_requests_were_sent_again(policy.exchanges())
    assert [(e.method, e.path) for e in lost] == [("POST", "/v2/login/")] * REPETITIONS
    # Each login was processed exactly once: the lost copy was never read.
    assert len(policy.exchanges("POST", "/v2/login/")) == 2 * REPETITIONS


async def test_totp_connection_test_succeeds_every_time(
    server: SimulatorServer, policy: ConnectionPolicy, clock: Clock
) -> None:
    for _ in range(FULL_TEST_REPETITIONS):
        clock.advance(seconds=30)
        made = provider(server, clock, auth_mode="password", username=CREDS.totp_username,
                        password=CREDS.totp_password)  # fmt: skip
        checks = await made.provider.test_connection(totp_code=totp(CREDS.totp_secret, clock()))
        assert all(c.ok for c in checks), checks
        assert made.sleeps == []
        await made.provider.aclose()
    lost = assert_lost_requests_were_sent_again(policy.exchanges())
    assert ("POST", "/v2/checkcreds/") in {(e.method, e.path) for e in lost}


async def test_password_sign_in_succeeds_every_time(
    server: SimulatorServer, policy: ConnectionPolicy, clock: Clock
) -> None:
    for _ in range(FULL_TEST_REPETITIONS):
        made = provider(server, clock, auth_mode="password", username=CREDS.username, password=CREDS.password)
        checks = await made.provider.test_connection()
        assert all(c.ok for c in checks), checks
        await made.provider.aclose()
    lost = assert_lost_requests_were_sent_again(policy.exchanges())
    assert ("POST", "/v2/checkcreds/") in {(e.method, e.path) for e in lost}


async def test_a_login_dropped_after_processing_is_not_sent_again(
    server: SimulatorServer, policy: ConnectionPolicy, clock: Clock, app: Any
) -> None:
    clock.advance(seconds=30)
    made = provider(server, clock, auth_mode="password", username=CREDS.totp_username, password=CREDS.totp_password)
    policy.drop_after_processing("POST", "/v2/login/")
    tokens_before = set(app.auth.tokens)
    with pytest.raises(ProviderRetriableError) as caught:
        await made.provider.client.login(totp(CREDS.totp_secret, clock()), interactive=True)
    host = f"127.0.0.1:{server.port}"
    assert caught.value.message == (
        f"{host} closed the connection during sign-in before answering; rmmbridge sent the request once more on a "
        "new connection and that failed too (ReadError). Try again; if it keeps happening, check the server's (or "
        "its reverse proxy's) logs."
    )
    assert "Cannot reach" not in caught.value.message
    # Lost unread on the connection closed after checkcreds, then processed once (a token was issued) and
    # its answer lost: not sent a third time.
    assert [(e.index, e.outcome) for e in policy.exchanges("POST", "/v2/login/")] == [
        (2, "dropped_unread"),
        (1, "dropped_after_processing"),
    ]
    assert len(set(app.auth.tokens) - tokens_before) == 1
    assert "token" not in made.saved
    await made.provider.aclose()


async def test_keep_alive_mode_loses_nothing(server: SimulatorServer, policy: ConnectionPolicy, clock: Clock) -> None:
    policy.close_after_response = False
    try:
        made = provider(server, clock)
        assert all(c.ok for c in await made.provider.test_connection())
        await made.provider.aclose()
    finally:
        policy.close_after_response = True
    log = policy.exchanges()
    assert {e.outcome for e in log} == {"served"}
    assert max(e.index for e in log) > 1  # connections were reused
