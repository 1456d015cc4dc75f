"""Issue #14 items 11 and 12: guessed webhook secrets are throttled per source address before any
database work; metric labels stay a fixed set whatever paths and methods clients make up."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import event

from tests.conftest import map_all, run_sync
from tests.support.throttle_clock import client_from
from tests.support.throttle_clock import clock as clock

URL = "/api/webhooks/tinyrmm"


class StatementCounter:
    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.engine, self.count = engine.sync_engine, 0

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args: object) -> None:
        self.count += 1


async def test_guessed_webhook_secrets_are_throttled_per_address_before_the_database(app, state, http, tiny, clock):
    await run_sync(http, state, tiny, "scopes")
    await map_all(http, tiny)
    r = await http.post(f"/api/v1/integrations/{tiny.integration_id}/webhook/rotate", headers=tiny.tenant.headers())
    secret = r.json()["secret"]
    guesser = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    statuses = []
    async with client_from(app, guesser) as client:
        for _ in range(20):
            r = await client.post(URL, headers={"X-Tiny-Secret": secrets.token_urlsafe(24)}, json={})
            statuses.append(r.status_code)
        assert statuses == [401] * 20
        r = await client.post(URL, headers={"X-Tiny-Secret": secrets.token_urlsafe(24)}, json={})
        assert r.status_code == 401  # the 21st failure starts the backoff…
        with StatementCounter(state.engine) as statements:
            for _ in range(200):
                r = await client.post(URL, headers={"X-Tiny-Secret": secrets.token_urlsafe(24)}, json={})
                assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert statements.count == 0  # …during which guesses cost no database work
        # Another address is not affected, and a known secret from it is accepted.
        async with client_from(app, "198.51.100.7") as other:
            r = await other.post(URL, headers={"X-Tiny-Secret": secrets.token_urlsafe(24)}, json={})
            assert r.status_code == 401
        # The backoff doubles with each further failure and expires with time.
        clock.now += 1.0
        r = await client.post(URL, headers={"X-Tiny-Secret": secrets.token_urlsafe(24)}, json={})
        assert r.status_code == 401
        r = await client.post(URL, headers={"X-Tiny-Secret": secret}, json={})
        assert r.status_code == 429 and r.headers["Retry-After"] == "2"
        clock.now += 2.0
        r = await client.post(URL, headers={"X-Tiny-Secret": secret}, json={"bogus": True})
        assert r.status_code in (202, 422), r.text  # the secret was looked up: not throttled


def _series(text: str) -> set[str]:
    return {line.split(" ")[0] for line in text.splitlines() if line.startswith("rmmbridge_http_requests_total{")}


async def test_metric_labels_are_a_fixed_set(http):
    async def one_round() -> None:
        await http.post(f"/api/webhooks/guess-{uuid.uuid4().hex}", json={})
        await http.request("BREW", f"/no/such/path/{uuid.uuid4().hex}")
        await http.get(f"/api/v1/assets/{uuid.uuid4()}")

    await one_round()
    before = _series((await http.get("/metrics")).text)
    for _ in range(40):
        await one_round()
    text = (await http.get("/metrics")).text
    assert "guess-" not in text and "/no/such/path" not in text and "BREW" not in text
    assert 'provider="unknown"' in text
    assert any('route="/api/webhooks/{provider}"' in line for line in before)
    assert _series(text) - before <= {s for s in _series(text) if 'route="/metrics"' in s}  # 40 rounds: no new series
