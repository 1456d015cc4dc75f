"""CLI with several integrations of one provider (issue #17): arguments take the integration's
name or id (or a unique id prefix); the provider key only while it is unambiguous."""

from __future__ import annotations

import json

from tests.cli.conftest import add_tactical


def test_name_id_prefix_and_ambiguous_provider(cli, tenant):
    first = add_tactical(cli, tenant)
    shown = cli("integrations", "show", "tacticalrmm", "--json", "--tenant", tenant.name)
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == first  # one: the provider key works
    second = cli("integrations", "add", "tacticalrmm", "--name", "Tactical EU", "--url", "https://eu.example.com",
                 "--auth-mode", "api_key", "--secrets-stdin", "--json", "--tenant", tenant.name,
                 stdin=json.dumps({"api_key": "e" * 32}))  # fmt: skip
    assert second.returncode == 0, second.stderr
    eu = json.loads(second.stdout)
    assert eu["id"] != first and eu["name"] == "Tactical EU"
    # Reconfiguring by name touches that one only.
    again = cli("integrations", "add", "tacticalrmm", "--name", "tactical eu", "--url", "https://eu2.example.com",
                "--auth-mode", "api_key", "--secrets-stdin", "--json", "--tenant", tenant.name,
                stdin=json.dumps({"api_key": "f" * 32}))  # fmt: skip
    assert again.returncode == 0 and json.loads(again.stdout)["id"] == eu["id"]
    ambiguous = cli("integrations", "show", "tacticalrmm", "--tenant", tenant.name)
    assert ambiguous.returncode == 1 and "matches several integrations" in ambiguous.stderr
    assert "Traceback" not in ambiguous.stderr
    no_name = cli("integrations", "add", "tacticalrmm", "--url", "https://x.example.com", "--auth-mode", "api_key",
                  "--secrets-stdin", "--tenant", tenant.name, stdin=json.dumps({"api_key": "g" * 32}))  # fmt: skip
    assert no_name.returncode == 1 and "--name" in no_name.stderr
    by_name = cli("integrations", "show", "Tactical EU", "--json", "--tenant", tenant.name)
    assert json.loads(by_name.stdout)["instance_url"] == "https://eu2.example.com"
    by_prefix = cli("integrations", "show", eu["id"][:13], "--json", "--tenant", tenant.name)
    assert by_prefix.returncode == 0 and json.loads(by_prefix.stdout)["id"] == eu["id"]
    listed = cli("integrations", "list", "--tenant", tenant.name)
    assert first in listed.stdout and eu["id"] in listed.stdout and "Tactical EU" in listed.stdout
