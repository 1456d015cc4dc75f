"""The CLI section of issue #17, as operators run it: a subprocess in a temporary folder (and
Typer's runner for the help), at 80 columns where tables matter."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid

from typer.testing import CliRunner

from rmmbridge.cli import app
from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS
from tests.conftest import TEST_SECRET_KEY

OTHER_KEY = "c2Vjb25kLWtleS0zMi1ieXRlcy1sb25nLXh4eHh4eHg="  # 32 bytes, not the database's key


def _bare(tmp_path, **env: str):  # type: ignore[no-untyped-def]
    """An operator's shell with no RMMBRIDGE_* at all, in a folder of its own."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("RMMBRIDGE_")}
    base |= {"NO_COLOR": "1", "COLUMNS": "80", "XDG_DATA_HOME": str(tmp_path / "xdg"), **env}
    work = tmp_path / "elsewhere"
    work.mkdir(exist_ok=True)

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "rmmbridge", *args], input=stdin, env=base, cwd=work,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    return run, work


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0 and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_works_from_anywhere_and_never_creates_data_by_reading(tmp_path):
    run, work = _bare(tmp_path)
    data = tmp_path / "xdg" / "rmmbridge"
    for read in (("integrations", "list"), ("assets", "list"), ("user", "list"), ("config", "base-url")):
        line = one_line(run(*read))
        assert f"no rmmbridge database at {data / 'rmmbridge.db'}" in line and "RMMBRIDGE_DATA_DIR" in line
    assert not (work / "var").exists() and not data.exists()  # nothing created, here or there
    config = run("config")
    assert f"data directory: {data}" in config.stdout
    # Setting up a deployment creates it in the data directory; any folder then finds it.
    assert run("tenant", "create", "Anywhere MSP").returncode == 0
    assert (data / "rmmbridge.db").exists() and (data / "secret.key").exists()
    elsewhere = tmp_path / "another"
    elsewhere.mkdir()
    listed = subprocess.run([sys.executable, "-m", "rmmbridge", "tenant", "list", "--json"], cwd=elsewhere,
                            env={k: v for k, v in os.environ.items() if not k.startswith("RMMBRIDGE_")}
                            | {"XDG_DATA_HOME": str(tmp_path / "xdg")}, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert [t["name"] for t in json.loads(listed.stdout)] == ["Anywhere MSP"]
    # RMMBRIDGE_DATA_DIR points elsewhere, the same way for every command.
    moved, _ = _bare(tmp_path, RMMBRIDGE_DATA_DIR=str(tmp_path / "moved"))
    assert f"data directory: {tmp_path / 'moved'}" in moved("config").stdout
    assert str(tmp_path / "moved" / "rmmbridge.db") in one_line(moved("tenant", "list"))


def test_key_problems_are_one_line(tmp_path, cli, tenant):  # type: ignore[no-untyped-def]
    run, _ = _bare(tmp_path, RMMBRIDGE_SECRET_KEY="short")
    line = one_line(run("tenant", "create", "x"))
    assert "RMMBRIDGE_SECRET_KEY" in line and "Traceback" not in line
    added = cli("integrations", "add", "tacticalrmm", "--url", "https://127.0.0.1:9", "--auth-mode", "api_key",
                "--secrets-stdin", "--json", "--tenant", tenant.name, stdin=json.dumps({"api_key": "k" * 32}))  # fmt: skip
    assert added.returncode == 0, added.stderr
    iid = json.loads(added.stdout)["id"]
    wrong = cli("integrations", "test", iid, "--tenant", tenant.name, env={"RMMBRIDGE_SECRET_KEY": OTHER_KEY})
    line = one_line(wrong)
    assert "do not open with this master key" in line and "RMMBRIDGE_SECRET_KEY" in line
    assert TEST_SECRET_KEY not in wrong.stderr


def test_prompts_exit_codes_and_readable_output(cli, tenant):  # type: ignore[no-untyped-def]
    t = ("--tenant", tenant.name)
    added = cli("integrations", "add", "tacticalrmm", "--url", "https://127.0.0.1:9", "--auth-mode", "api_key",
                "--secrets-stdin", "--json", *t, stdin=json.dumps({"api_key": "k" * 32}))  # fmt: skip
    iid = json.loads(added.stdout)["id"]
    # The prompt goes to stderr: stdout is only the JSON.
    tested = cli("integrations", "test", iid, "--totp", "--json", *t, stdin="123456\n")
    assert tested.returncode == 1 and "One-time code" in tested.stderr
    assert json.loads(tested.stdout)["ok"] is False
    # A device sync with nothing mapped says what to do, and fails.
    nothing = cli("sync", "run", iid, "devices", "--wait", *t)
    line = one_line(nothing)
    assert "mapped to a PSA client" in line and "rmmbridge mappings" in line
    assert cli("sync", "run", iid, "devices", *t).returncode == 1  # queued or not: the same refusal
    # Switches have no "<bool>" type in the help.
    help_text = CliRunner().invoke(app, ["mappings", "set", "--help"], env={"COLUMNS": "120"}).output
    assert "--auto-sync" in help_text and "<bool>" not in help_text


def test_tables_at_80_columns_and_show_takes_what_list_shows(cli, tactical_simulator):  # type: ignore[no-untyped-def]
    server, _fleet = tactical_simulator
    tenant = f"cli-op-{uuid.uuid4().hex[:6]}"
    assert cli("tenant", "create", tenant).returncode == 0
    t = ("--tenant", tenant)
    added = cli("integrations", "add", "tacticalrmm", "--url", server.url, "--allow-insecure-url", "--auth-mode",
                "api_key", "--secrets-stdin", "--json", *t, stdin=json.dumps({"api_key": DEFAULT_CREDENTIALS.api_key}))  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert cli("integrations", "test", "tacticalrmm", *t).returncode == 0
    assert cli("sync", "run", "tacticalrmm", "scopes", "--wait", *t).returncode == 0
    orgs = json.loads(cli("mappings", "list", "tacticalrmm", "--json", *t).stdout)["items"]
    made = cli("mappings", "create-client", "tacticalrmm", orgs[0]["external_org_id"], "--json", *t)
    client_name = orgs[0]["external_org_name"]
    assert made.returncode == 0
    done = cli("sync", "run", "tacticalrmm", "devices", "--wait", *t)
    assert done.returncode == 0, done.stderr
    narrow = {"COLUMNS": "80"}
    for listing in (("assets", "list"), ("integrations", "list"), ("runs", "list"), ("clients", "list"),
                    ("mappings", "list", "tacticalrmm")):  # fmt: skip
        out = cli(*listing, *t, env=narrow)
        assert out.returncode == 0, out.stderr
        assert all(len(line) <= 80 for line in out.stdout.splitlines()), out.stdout
        ids = [i["id"] for i in json.loads(cli(*listing, "--json", *t).stdout)["items"]] if listing[0] != "integrations" \
            else [i["id"] for i in json.loads(cli(*listing, "--json", *t).stdout)]  # fmt: skip
        assert ids and all(i in out.stdout for i in ids), (listing, out.stdout)  # whole ids, never cut
    wide = cli("assets", "list", "--wide", *t, env=narrow)
    assert "os" in wide.stdout.splitlines()[2] and wide.stderr == ""
    assets = json.loads(cli("assets", "list", "--client", client_name, "--json", *t).stdout)["items"]
    assert assets and {a["client_name"] for a in assets} == {client_name}
    name = assets[0]["name"]
    by_name = cli("assets", "show", name, *t, env=narrow)
    assert by_name.returncode == 0 and assets[0]["id"] in by_name.stdout
    assert "uptime s" not in by_name.stdout
    by_prefix = cli("assets", "show", assets[0]["id"][:18], "--json", *t)
    assert json.loads(by_prefix.stdout)["id"] == assets[0]["id"]
    assert one_line(cli("assets", "show", "NO-SUCH-HOST", *t)).startswith("error: no asset 'NO-SUCH-HOST'")
    assert cli("assets", "summary", "--client", client_name, *t).returncode == 0
    # Runs show plain lines, never Python dicts.
    run_id = json.loads(cli("runs", "list", "--json", *t).stdout)["items"][0]["id"]
    shown = cli("runs", "show", run_id, *t)
    assert shown.returncode == 0 and "counters:" in shown.stdout and "{" not in shown.stdout, shown.stdout


def test_serve_says_the_port_is_taken_before_listening(tmp_path):  # type: ignore[no-untyped-def]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run, _ = _bare(tmp_path, RMMBRIDGE_PORT=str(port))
        served = run("serve")
        line = one_line(served)
        assert f"port {port}" in line and "already in use" in line and "listening" not in served.stdout
        sim = run("simulate", "tacticalrmm", "--port", str(port))
        assert "already in use" in one_line(sim) and "listening" not in sim.stdout.lower()
