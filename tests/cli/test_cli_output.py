"""Issue #12: what CLI commands print — quiet logs unless -v, and --json in the REST API's shapes."""

from __future__ import annotations

import json

from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS
from tests.cli.conftest import add_tactical, start_service

SERVICE = {"RMMBRIDGE_LOG_LEVEL": "INFO"}  # the documented default, meant for the service


def test_logs_are_warnings_only_unless_verbose(cli, tactical_simulator) -> None:  # type: ignore[no-untyped-def]
    server, _ = tactical_simulator
    quiet = cli("tenant", "list", env=SERVICE)
    assert quiet.returncode == 0 and quiet.stderr == ""
    verbose = cli("-v", "tenant", "list", env=SERVICE)
    assert verbose.returncode == 0 and "INFO alembic" in verbose.stderr  # Alembic's own lines, on request

    tenant = json.loads(cli("tenant", "create", f"logs-{server.port}", "--json").stdout)["name"]
    t = ("--tenant", tenant)
    added = cli("integrations", "add", "tacticalrmm", "--url", server.url, "--allow-insecure-url", "--auth-mode", "api_key",
                "--secrets-stdin", *t, stdin=json.dumps({"api_key": DEFAULT_CREDENTIALS.api_key}))  # fmt: skip
    assert added.returncode == 0, added.stderr
    tested = cli("integrations", "test", "tacticalrmm", *t, env=SERVICE)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stderr == ""  # no per-request httpx lines
    tested = cli("-v", "integrations", "test", "tacticalrmm", *t, env=SERVICE)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert f"HTTP Request: GET {server.url}/" in tested.stderr


async def test_json_is_the_rest_apis_shape(  # type: ignore[no-untyped-def]
    cli, tenant, http, settings_factory, no_stored_url, tactical_simulator
) -> None:
    """One resource → the bare object; a list → what its REST endpoint returns (the page envelope
    where the REST API paginates, a bare array for integrations)."""
    await start_service(settings_factory(base_url="https://psa.example.com"))  # both processes: one URL
    h, t = tenant.headers(), ("--tenant", tenant.name)

    async def rest(path: str, method: str = "GET") -> object:
        response = await http.request(method, f"/api/v1{path}", headers=h)
        assert response.status_code == 200, response.text
        return response.json()

    def cli_json(*args: str) -> object:
        done = cli(*args, "--json", *t)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    iid = add_tactical(cli, tenant, tactical_simulator[0].url, DEFAULT_CREDENTIALS.api_key)
    tested = cli_json("integrations", "test", iid)
    assert tested["ok"] is True and set(tested) == {"ok", "totp_required", "checks", "integration"}
    one = await rest(f"/integrations/{iid}")
    assert tested["integration"] == one
    assert cli_json("integrations", "show", iid) == one
    assert cli_json("integrations", "list") == await rest("/integrations") == [one]

    client = cli_json("clients", "add", "Acme Dental")
    assert client == await rest(f"/clients/{client['id']}")
    clients = cli_json("clients", "list")
    assert clients == await rest("/clients?page_size=500")
    assert set(clients) == {"items", "total", "page", "page_size", "pages"} and clients["total"] == 1
    assert cli_json("clients", "list", "--limit", "1", "--page", "2") == await rest("/clients?page_size=1&page=2")

    assert cli_json("assets", "list") == await rest("/assets?page_size=100")
    assert cli_json("mappings", "list", iid) == await rest(f"/integrations/{iid}/mappings?page_size=500")

    started = cli_json("sync", "run", iid, "scopes")  # queued for the service, as POST …/sync/scopes answers
    assert set(started) == {"run", "joined"} and started["joined"] is False
    run = await rest(f"/sync-runs/{started['run']['id']}")
    assert started["run"] == run == cli_json("runs", "show", run["id"])
    assert cli_json("runs", "list") == await rest("/sync-runs?page_size=20")

    assert cli_json("integrations", "webhook", iid) == await rest(f"/integrations/{iid}/webhook")
    rotated = cli_json("integrations", "rotate-webhook-secret", iid)
    assert set(rotated) == {"secret", "info", "rmm_update"} and rotated["rmm_update"] is None  # not provisioned
    revealed = await rest(f"/integrations/{iid}/webhook/reveal", "POST")
    assert revealed["secret"] == rotated["secret"] and revealed == rotated | {"info": revealed["info"]}
    assert cli_json("integrations", "webhook", iid, "--reveal") == revealed
