"""Settings → Event delivery: create a subscription, send a test event, see it in the delivery
log, replay it — with the live server's own delivery loop posting to a real receiver."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect
from standardwebhooks import Webhook

from tests.delivery.support import Receiver

from .conftest import shot

pytestmark = pytest.mark.e2e


def wait_until(predicate, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_subscribe_send_a_test_event_and_replay_it(live, account, new_page):
    with Receiver() as receiver:
        page = new_page(account=account)
        page.goto("/settings/integrations")
        page.get_by_role("link", name="Event delivery").click()
        expect(page.get_by_role("heading", name="Event delivery", level=1)).to_be_visible()
        page.get_by_label("Name").fill("PSA tickets")
        page.get_by_label("URL").fill(receiver.url)
        page.get_by_label("Format").select_option("standard")
        page.get_by_role("button", name="Create subscription").click()
        secret = page.locator("#signing-secret").inner_text().strip()
        assert secret.startswith("whsec_")
        shot(page, "event-delivery-created-1280")

        page.get_by_role("button", name="Send test event").click()
        expect(page.get_by_role("status").first).to_contain_text("Test event queued")
        wait_until(lambda: len(receiver.received) == 1)
        first = receiver.received[0]
        assert Webhook(secret).verify(first.body, first.headers)["type"] == "delivery.test"

        page.reload()
        row = page.locator("#delivery-log tbody tr").first
        expect(row).to_contain_text("delivery.test")
        expect(row.locator(".badge")).to_have_text("succeeded")
        expect(row).to_contain_text("HTTP 200")
        shot(page, "event-delivery-log-1280")

        row.get_by_role("button", name="Replay").click()
        expect(page.get_by_role("status").first).to_contain_text("Delivery queued again")
        wait_until(lambda: len(receiver.received) == 2)
        again = receiver.received[1]
        assert again.headers["webhook-id"] == first.headers["webhook-id"]  # the same event: dedup by its id
        Webhook(secret).verify(again.body, again.headers)
        page.reload()
        expect(page.locator("#delivery-log tbody tr").first.locator(".badge")).to_have_text("succeeded")
        expect(page).to_have_url(re.compile(r"/settings/event-delivery/[0-9a-f-]{36}"))
