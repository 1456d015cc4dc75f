"""`rmmbridge user …` and `rmmbridge token …` (issue #17), as a real subprocess at 80 columns."""

from __future__ import annotations

import json


def test_user_commands_and_the_last_admin(cli, tenant):
    t = ["--tenant", tenant.name]
    listed = cli("user", "list", *t, env={"COLUMNS": "80"})
    assert listed.returncode == 0, listed.stderr
    assert all(len(line) <= 80 for line in listed.stdout.splitlines())
    users = {u["email"]: u for u in json.loads(cli("user", "list", *t, "--json").stdout)}
    for u in users.values():
        assert u["id"] in listed.stdout  # never cut, even at 80 columns
    admin = tenant.emails["admin"]
    refused = cli("user", "set-role", admin, "viewer")
    assert refused.returncode == 1 and refused.stderr.startswith("error: ") and "one active admin" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert cli("user", "disable", admin).returncode == 1
    promoted = cli("user", "set-role", tenant.emails["technician"], "admin")
    assert promoted.returncode == 0 and "is now admin" in promoted.stdout
    assert cli("user", "disable", admin).returncode == 0
    again = json.loads(cli("user", "list", *t, "--json").stdout)
    assert next(u for u in again if u["email"] == admin)["is_active"] is False
    assert cli("user", "enable", admin).returncode == 0
    bad_role = cli("user", "set-role", admin, "boss")
    assert bad_role.returncode == 1 and "unknown role" in bad_role.stderr
    unknown = cli("user", "disable", "nobody@nowhere.example")
    assert unknown.returncode == 1 and "no user" in unknown.stderr
    # Passwords: reset by an admin, then the user's own change (current one first), from stdin.
    viewer = tenant.emails["viewer"]
    reset = cli("user", "reset-password", viewer, "--password-stdin", stdin="a fresh passphrase 1\n")
    assert reset.returncode == 0, reset.stderr
    wrong = cli("user", "passwd", viewer, "--password-stdin", stdin="not it at all!!\nanother passphrase 2\n")
    assert wrong.returncode == 1 and "current password is not correct" in wrong.stderr
    changed = cli("user", "passwd", viewer, "--password-stdin", stdin="a fresh passphrase 1\nanother passphrase 2\n")
    assert changed.returncode == 0, changed.stderr


def test_token_list_and_revoke_by_prefix(cli, tenant):
    t = ["--tenant", tenant.name]
    created = cli("token", "create", "--email", tenant.emails["viewer"], "--name", "backup script", "--json")
    assert created.returncode == 0, created.stderr
    token_id = json.loads(created.stdout)["info"]["id"]
    listed = cli("token", "list", *t, env={"COLUMNS": "80"})
    assert listed.returncode == 0 and token_id in listed.stdout
    assert all(len(line) <= 80 for line in listed.stdout.splitlines())
    assert "left out to fit 80 columns" in listed.stderr and "--wide" in listed.stderr
    wide = cli("token", "list", *t, "--wide", env={"COLUMNS": "80"})
    assert "backup script (…" in wide.stdout and "last used" in wide.stdout and wide.stderr == ""
    items = json.loads(cli("token", "list", *t, "--json").stdout)
    assert {i["owner_email"] for i in items} == set(tenant.emails.values())
    assert all("token_digest" not in i for i in items)
    mine = json.loads(cli("token", "list", *t, "--email", tenant.emails["viewer"], "--json").stdout)
    assert {i["name"] for i in mine} == {"viewer token", "backup script"}
    revoked = cli("token", "revoke", token_id[-12:], *t)  # the random tail is a unique prefix? no: a suffix
    assert revoked.returncode == 1 and "no API token" in revoked.stderr
    revoked = cli("token", "revoke", token_id[:23], *t)
    assert revoked.returncode == 0 and "revoked token 'backup script'" in revoked.stdout, revoked.stderr
    after = json.loads(cli("token", "list", *t, "--json").stdout)
    assert token_id not in {i["id"] for i in after}
    with_revoked = json.loads(cli("token", "list", *t, "--revoked", "--json").stdout)
    assert next(i for i in with_revoked if i["id"] == token_id)["revoked_at"]
