"""Issue #14 item 6 (schema honesty) for ``PUT /integrations/{id}/credentials``: the body is
documented per provider (``integrations/credentials_schema.py``), and each answer is the documented
one: 409 for a body valid on its own that conflicts with the integration (another provider's
variant; incomplete once merged with the stored values), 422 only for a value the document itself
refuses, 403 for an address the operator's policy refuses. Nothing is written on any refusal."""

from __future__ import annotations

import re
import uuid
from typing import Any

from rmmbridge.integrations.schemas import CredentialsIn
from rmmbridge.integrations.service import save_credentials

PATH = "/api/v1/integrations/{integration_id}/credentials"


def _host() -> str:
    return f"https://rmm-{uuid.uuid4().hex[:8]}.invalid"  # .invalid never resolves: no DNS wait


async def _integration(http: Any, h: dict[str, str], provider: str) -> str:
    r = await http.post("/api/v1/integrations", json={"provider": provider}, headers=h)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _put(http: Any, h: dict[str, str], iid: str, body: object) -> Any:
    return await http.put(PATH.format(integration_id=iid), headers=h, json=body)


async def _document(http: Any) -> dict[str, Any]:
    r = await http.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


async def test_the_document_has_one_variant_per_provider(http, state):
    doc = await _document(http)
    operation = doc["paths"][PATH]["put"]
    assert {"403", "404", "409", "422"} <= set(operation["responses"])
    variants = operation["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    names = {v["$ref"].rsplit("/", 1)[1] for v in variants}
    assert names == {f"Credentials_{cls.key}" for cls in state.registry}
    schemas = doc["components"]["schemas"]
    tactical = schemas["Credentials_tacticalrmm"]
    assert tactical["additionalProperties"] is False
    assert tactical["properties"]["auth_mode"]["anyOf"][0]["enum"] == ["api_key", "password"]
    page_size = schemas["CredentialValues_tacticalrmm"]["properties"]["page_size"]["anyOf"][0]
    assert (page_size["minimum"], page_size["maximum"]) == (1, 1000)
    url = tactical["properties"]["instance_url"]["anyOf"][0]["pattern"]
    # http:// is refused by default (RMMBRIDGE_ALLOW_INSECURE_PROVIDER_URLS), and the document says so.
    assert re.search(url, "https://rmm.example.com/api") and not re.search(url, "http://rmm.example.com")
    token = schemas["CredentialValues_tanium"]["properties"]["api_token"]["anyOf"][0]["pattern"]
    assert re.search(token, "token-abc") and re.search(token, "") and not re.search(token, "abc")


async def test_another_providers_body_is_409_and_writes_nothing(http, tenant):
    h = tenant.headers()
    iid = await _integration(http, h, "tacticalrmm")
    # Named explicitly, and recognisable without the name: a Tanium body on a Tactical integration.
    for body in (
        {"provider": "tanium", "instance_url": _host(), "values": {"api_token": "token-abc"}},
        {"instance_url": _host(), "values": {"api_token": "token-abc"}},
    ):
        r = await _put(http, h, iid, body)
        assert r.status_code == 409, r.text
        problem = r.json()
        assert problem["type"].endswith("/provider-mismatch") and "Tanium" in problem["detail"]
        fields = {e["field"] for e in problem["errors"]}
        assert fields & {"provider", "values.api_token"}, problem
    shown = (await http.get(f"/api/v1/integrations/{iid}", headers=h)).json()
    assert shown["state"] == "not_configured" and shown["instance_url"] is None and shown["credentials"] == {}


async def test_an_update_still_incomplete_with_the_stored_values_is_409(http, tenant):
    h = tenant.headers()
    iid = await _integration(http, h, "tacticalrmm")
    url = _host()
    # Valid on its own, but nothing stored supplies the API key that api_key mode needs.
    r = await _put(http, h, iid, {"instance_url": url, "auth_mode": "api_key"})
    assert r.status_code == 409, r.text
    assert r.json()["type"].endswith("/incomplete-configuration")
    assert [e["field"] for e in r.json()["errors"]] == ["api_key"]
    r = await _put(http, h, iid, {"values": {"api_key": "K" * 28 + "WXYZ"}})
    assert r.status_code == 409 and [e["field"] for e in r.json()["errors"]] == ["instance_url"], r.text
    # Completed: accepted; afterwards a partial update is whole with the stored key.
    r = await _put(http, h, iid, {"instance_url": url, "values": {"api_key": "K" * 28 + "WXYZ"}})
    assert r.status_code == 200, r.text
    r = await _put(http, h, iid, {"values": {"page_size": 50}})
    assert r.status_code == 200 and r.json()["settings"]["page_size"] == 50, r.text
    # Switching to password sign-in with a user name but no password: 409 naming the password,
    # and the stored configuration (mode, key) is untouched.
    r = await _put(http, h, iid, {"auth_mode": "password", "values": {"username": "sync-bot"}})
    assert r.status_code == 409, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["password"]
    shown = (await http.get(f"/api/v1/integrations/{iid}", headers=h)).json()
    assert shown["auth_mode"] == "api_key" and shown["credentials"]["api_key"] == "••••WXYZ"

    # A cross-field rule judged on the merged configuration: Tanium's offline window must stay
    # shorter than the stored overdue one (1440 minutes by default).
    tanium = await _integration(http, h, "tanium")
    r = await _put(http, h, tanium, {"instance_url": _host(), "values": {"api_token": "token-abc"}})
    assert r.status_code == 200, r.text
    r = await _put(http, h, tanium, {"values": {"offline_after_minutes": 2000}})
    assert r.status_code == 409 and "overdue_after_minutes" in r.json()["detail"], r.text
    r = await _put(http, h, tanium, {"values": {"offline_after_minutes": 2000, "overdue_after_minutes": 3000}})
    assert r.status_code == 200, r.text


async def test_a_value_invalid_in_itself_is_422_and_the_document_refuses_it_too(http, tenant):
    h = tenant.headers()
    doc = await _document(http)
    schemas = doc["components"]["schemas"]
    iid = await _integration(http, h, "tacticalrmm")
    for body, field, reason in (
        ({"values": {"concurrency": 9}}, "values.concurrency", "less than or equal to 4"),
        ({"values": {"page_size": "50"}}, "values.page_size", "valid integer"),
        ({"instance_url": "http://rmm.example.com"}, "instance_url", "in clear"),
        ({"instance_url": "ftp://rmm.example.com"}, "instance_url", "https://"),
        ({"auth_mode": "oauth"}, "auth_mode", "api_key"),
        ({"values": {"nope": 1}}, "values.nope", "Extra inputs"),
    ):
        r = await _put(http, h, iid, body)
        assert r.status_code == 422, (body, r.text)
        problem = r.json()
        assert problem["type"].endswith("/validation-failed")
        assert any(e["field"] == field for e in problem["errors"]) and reason in r.text, (body, problem)
    # 5000 agents per page is out of Tactical's range but a valid Tanium page size: the body fits
    # the Tanium variant of the document, so it is the provider conflict (409), not a 422.
    r = await _put(http, h, iid, {"values": {"page_size": 5000}})
    assert r.status_code == 409 and r.json()["type"].endswith("/provider-mismatch"), r.text
    assert r.json()["errors"][0]["field"] == "values.page_size"
    url = schemas["Credentials_tacticalrmm"]["properties"]["instance_url"]["anyOf"][0]["pattern"]
    assert not re.search(url, "ftp://rmm.example.com") and not re.search(url, "http://rmm.example.com")

    tanium = await _integration(http, h, "tanium")
    r = await _put(http, h, tanium, {"instance_url": _host(), "values": {"api_token": "abc"}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "values.api_token", r.text
    shown = (await http.get(f"/api/v1/integrations/{tanium}", headers=h)).json()
    assert shown["state"] == "not_configured" and shown["credentials"] == {}


async def test_a_refused_address_is_403_whatever_else_is_missing(http, tenant):
    h = tenant.headers()
    iid = await _integration(http, h, "tacticalrmm")
    for url in ("https://169.254.169.254", "https://[::ffff:a9fe:a9fe]/", "metadata.google.internal"):
        r = await _put(http, h, iid, {"instance_url": url})  # no API key either: the policy answers first
        assert r.status_code == 403, (url, r.text)
        assert r.json()["type"].endswith("/address-refused") and r.json()["errors"][0]["field"] == "instance_url"


async def test_the_service_stays_lenient_for_the_form_and_the_cli(state, tenant):
    """The UI and the CLI build CredentialsIn and call the service: a scheme-less address and
    numbers typed as text still work there (the document describes the HTTP body only)."""
    from rmmbridge.integrations.schemas import IntegrationCreate
    from rmmbridge.integrations.service import create_integration
    from rmmbridge.storage.db import unit_of_work

    ctx = tenant.admin_ctx
    async with unit_of_work(state.sessionmaker) as db:
        row = await create_integration(db, ctx, state.registry, IntegrationCreate(provider="tacticalrmm"))
        data = CredentialsIn(
            instance_url=_host().removeprefix("https://") + "/api", auth_mode="api_key",
            values={"api_key": "K" * 32, "page_size": "250"},
        )  # fmt: skip
        saved = await save_credentials(state, db, ctx, row.id, data)
        assert saved.instance_url and saved.instance_url.startswith("https://")
        assert not saved.instance_url.endswith("/api") and saved.settings["page_size"] == 250
