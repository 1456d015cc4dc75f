"""A separate rmmbridge process for the tests: the delivery loop (webhooks) or the NATS publisher.

``python -m tests.delivery.worker_proc webhooks <database url> <seconds> <lease seconds>``
``python -m tests.delivery.worker_proc nats <database url> <seconds> <nats url> <stream> <prefix> <cursor>``
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import timedelta

from rmmbridge.app import build_state
from rmmbridge.config import Settings
from rmmbridge.delivery import sender
from rmmbridge.delivery.nats_publisher import NatsPublisher
from rmmbridge.delivery.worker import DeliveryWorker
from tests.conftest import TEST_SECRET_KEY


async def main(argv: list[str]) -> None:
    mode, url, seconds = argv[0], argv[1], float(argv[2])
    state = build_state(Settings(database_url=url, secret_key=TEST_SECRET_KEY, base_url="http://testserver"))
    try:
        if mode == "webhooks":
            sender.LEASE = timedelta(seconds=float(argv[3]))
            worker = DeliveryWorker(state, nats_url="", idle_s=0.05)
            print("ready", flush=True)
            await worker.run_for(seconds)
            await worker.aclose()
        else:
            publisher = NatsPublisher(state, argv[3], stream=argv[4], prefix=argv[5], cursor=argv[6])
            await publisher.connect()
            print("ready", flush=True)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                # Small batches: a kill lands between an ack and the cursor's move more often.
                if not await publisher.publish_once(limit=500):
                    await asyncio.sleep(0.05)
            await publisher.close()
    finally:
        await state.engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
