"""Issue #12: the webhook set-up an operator gets from the CLI matches what the service serves.

The public base URL is the service's (published when it starts, or set with `config
set-base-url`), whatever the operator's shell says; `integrations webhook` prints everything to
paste into Tactical (the receiver's answer naming Tactical's alert id is checked with a real
delivery in tests/providers/tacticalrmm/test_sync_flow.py).
"""

from __future__ import annotations

import json
import re

from rmmbridge.config import Settings
from rmmbridge.providers.tacticalrmm.provider import TacticalProvider
from tests.cli.conftest import add_tactical, start_service

SERVICE_URL = "https://psa.example.com"
SHELL_URL = "http://127.0.0.1:8000"  # what the operator's shell has (or the default it falls back to)
HOOK = f"{SERVICE_URL}/api/webhooks/tacticalrmm"


async def test_webhook_url_is_the_services_not_the_shells(  # type: ignore[no-untyped-def]
    cli, tenant, http, settings_factory, no_stored_url
) -> None:
    iid = add_tactical(cli, tenant)
    t = ("--tenant", tenant.name)
    shell = {"RMMBRIDGE_BASE_URL": SHELL_URL}

    # Nothing published yet: the CLI says so instead of passing the default off as the truth.
    before = cli("integrations", "show", iid, *t)
    assert before.returncode == 0, before.stderr
    assert "has not published its public URL" in before.stderr

    # The service starts with RMMBRIDGE_BASE_URL (trailing slash and all) and publishes it.
    await start_service(settings_factory(base_url=SERVICE_URL + "/"))
    shown = cli("integrations", "show", iid, *t, env=shell)
    assert shown.returncode == 0, shown.stderr
    assert f"webhook url:    {HOOK}\n" in shown.stdout
    assert SHELL_URL not in shown.stdout
    assert f"this shell's RMMBRIDGE_BASE_URL ({SHELL_URL}) differs" in shown.stderr

    rotated = cli("integrations", "rotate-webhook-secret", iid, *t, env=shell)
    assert rotated.returncode == 0, rotated.stderr
    lines = rotated.stdout.splitlines()
    assert re.fullmatch(r"whs_[A-Za-z0-9_\-]{43}", lines[0])  # the secret alone on its line
    url_lines = [line for line in lines if "/api/webhooks/" in line]
    assert url_lines == [f"url:    {HOOK}"]  # whole, and nothing (no ";") after it

    # The REST API (and the UI: both read through webhook_info) show the same stored value.
    api = (await http.get(f"/api/v1/integrations/{iid}/webhook", headers=tenant.headers())).json()
    assert api["url"] == HOOK

    # An admin can set it from the CLI; a service started without RMMBRIDGE_BASE_URL keeps it …
    moved = cli("config", "set-base-url", "https://bridge.example.net/psa/", "--json")
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout) == {"base_url": "https://bridge.example.net/psa", "source": "cli", "stored": True}
    unset = Settings(**{k: v for k, v in settings_factory().model_dump().items() if k != "base_url"})
    assert "base_url" not in unset.model_fields_set
    await start_service(unset)
    api = (await http.get(f"/api/v1/integrations/{iid}/webhook", headers=tenant.headers())).json()
    assert api["url"] == "https://bridge.example.net/psa/api/webhooks/tacticalrmm"
    # … and one started with it publishes its own again.
    await start_service(settings_factory(base_url=SERVICE_URL))
    assert json.loads(cli("config", "base-url", "--json").stdout)["base_url"] == SERVICE_URL

    bad = cli("config", "set-base-url", "psa.example.com")
    assert bad.returncode == 1 and bad.stderr.startswith("error: the base URL must start with http")


async def test_integrations_webhook_prints_what_to_paste(  # type: ignore[no-untyped-def]
    cli, tenant, http, settings_factory, no_stored_url
) -> None:
    await start_service(settings_factory(base_url=SERVICE_URL))
    t = ("--tenant", tenant.name)
    # Not configured yet: the CLI refuses to create a secret, as the REST API does.
    created = await http.post("/api/v1/integrations", json={"provider": "tacticalrmm"}, headers=tenant.headers())
    assert created.status_code == 201, created.text
    early = cli("integrations", "rotate-webhook-secret", "tacticalrmm", *t)
    assert early.returncode == 1 and "configure the integration before" in early.stderr
    iid = add_tactical(cli, tenant)
    assert iid == created.json()["id"]

    none_yet = cli("integrations", "webhook", iid, *t)
    assert none_yet.returncode == 0, none_yet.stderr
    assert f"rmmbridge integrations rotate-webhook-secret {iid}" in none_yet.stdout
    no_secret = cli("integrations", "webhook", iid, "--reveal", *t)
    assert no_secret.returncode == 1 and "no webhook secret yet" in no_secret.stderr

    secret = cli("integrations", "rotate-webhook-secret", iid, *t).stdout.splitlines()[0]
    shown = cli("integrations", "webhook", iid, *t)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert f"URL:     {HOOK}\n" in out and "Method:  POST\n" in out
    assert "Header:  X-Webhook-Secret\n" in out and "X-Alga" not in out  # accepted, not advertised
    assert secret not in out and "<integration webhook secret>" not in out
    assert "Key Store" in out and "RMMBRIDGE_WEBHOOK_SECRET" in out
    blocks = _blocks(out)
    assert json.loads(blocks["Headers (both web hooks)"]) == {
        "Content-Type": "application/json", "X-Webhook-Secret": "{{global.RMMBRIDGE_WEBHOOK_SECRET}}"}  # fmt: skip
    expected = TacticalProvider.webhook_templates(HOOK)
    assert blocks["Body: failure (alert raised)"] == expected["failure"]
    assert blocks["Body: resolved (alert resolved)"] == expected["resolved"]

    revealed = cli("integrations", "webhook", iid, "--reveal", *t)
    assert revealed.returncode == 0, revealed.stderr
    headers = json.loads(_blocks(revealed.stdout)["Headers (both web hooks)"])
    assert headers == {"Content-Type": "application/json", "X-Webhook-Secret": secret}
    assert "Key Store" not in revealed.stdout


def _blocks(out: str) -> dict[str, str]:
    """The ``--- title ---`` sections of `integrations webhook`, each up to the next blank line."""
    found = {}
    for match in re.finditer(r"^--- (.+?) ---\n(.*?)\n\n", out, re.S | re.M):
        found[match.group(1)] = match.group(2)
    return found
