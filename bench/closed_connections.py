"""What closing connections like uWSGI costs: Tactical connection tests and TOTP sign-ins against the
simulator on a loopback port, closing mode vs keep-alive.

    PYTHONPATH=src python -m bench.closed_connections --repetitions 50

Reports, per mode: successes, milliseconds per connection test / sign-in, requests lost on a closed
connection (each re-sent once by the transport) and connections opened.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from rmmbridge.kit.http import HttpClientFactory
from rmmbridge.providers.base import ProviderContext
from rmmbridge.providers.tacticalrmm import TacticalConfig, TacticalProvider
from rmmbridge.simulators.connections import ConnectionPolicy
from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS, create_app, generate_fleet, totp
from tests.support.live_server import SimulatorServer


def provider(url: str, **values: Any) -> TacticalProvider:
    async def save(_: dict[str, str]) -> None:
        return None

    ctx = ProviderContext(uuid.uuid4(), uuid.uuid4(), {}, HttpClientFactory(), lambda: datetime.now(UTC), save)
    return TacticalProvider(TacticalConfig(instance_url=url, allow_insecure_url=True, **values), ctx)


async def run(policy: ConnectionPolicy, repetitions: int) -> dict[str, Any]:
    fleet = generate_fleet(seed=5, clients=3, agents=20, sites_per_client=2)
    app = create_app(fleet, login_rate_per_minute=100_000, login_rate_per_day=1_000_000)
    result: dict[str, Any] = {}
    with SimulatorServer(app, policy) as server:
        for kind in ("api_key_test", "totp_sign_in"):
            policy.log.clear()
            ok = 0
            started = time.perf_counter()
            for _ in range(repetitions):
                if kind == "api_key_test":
                    p = provider(server.url, api_key=DEFAULT_CREDENTIALS.api_key)
                    ok += all(c.ok for c in await p.test_connection())
                else:
                    p = provider(server.url, auth_mode="password", username=DEFAULT_CREDENTIALS.totp_username,
                                 password=DEFAULT_CREDENTIALS.totp_password)  # fmt: skip
                    await p.client.login(totp(DEFAULT_CREDENTIALS.totp_secret, datetime.now(UTC)), interactive=True)
                    ok += p.client.has_token
                await p.aclose()
            elapsed = time.perf_counter() - started
            log = policy.exchanges()
            result[kind] = {
                "ok": f"{ok}/{repetitions}",
                "ms_each": round(1000 * elapsed / repetitions, 1),
                "requests": len(log),
                "lost_and_resent": sum(e.outcome == "dropped_unread" for e in log),
                "connections": len({e.connection for e in log}),
            }
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=50)
    args = parser.parse_args()
    for name, policy in (("closing (uWSGI)", ConnectionPolicy()),
                         ("keep-alive", ConnectionPolicy(close_after_response=False))):  # fmt: skip
        print(name, asyncio.run(run(policy, args.repetitions)), flush=True)


if __name__ == "__main__":
    main()
