"""The settings the documentation and the shipped deployment files name are the settings the code
reads, and every setting the code reads is documented.

Derived from the code: a new ``Settings`` field fails ``test_every_setting_is_documented`` until
docs/operations.md describes it; a variable renamed or removed in the code fails the other tests
wherever the docs or deploy/ still name it.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import typer.main

from rmmbridge.alerts.webhooks import MAX_BODY
from rmmbridge.cli.main import app as cli_app
from rmmbridge.config import Settings
from rmmbridge.providers.tacticalrmm.webhook import KEY_STORE_KEY

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OPERATIONS = ROOT / "docs" / "operations.md"
VARIABLE = re.compile(r"\bRMMBRIDGE_[A-Z0-9_]*[A-Z0-9]\b")

SETTINGS = {f"RMMBRIDGE_{name.upper()}" for name in Settings.model_fields}


def _cli_envvars() -> set[str]:
    found: set[str] = set()

    def walk(command: click.Command) -> None:
        for param in command.params:
            envvars = param.envvar if isinstance(param.envvar, list | tuple) else [param.envvar]
            found.update(e for e in envvars if e)
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(cli_app))
    return found


# Not settings, but named in the docs on purpose: the CLI's own variables (e.g. RMMBRIDGE_TENANT)
# and the key Tactical's Global Key Store holds the webhook secret under.
OTHER_NAMES = _cli_envvars() | {KEY_STORE_KEY}


def _documents() -> list[Path]:
    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    return [p for p in pages + [p for p in DEPLOY.rglob("*") if p.is_file()]]


def test_every_setting_is_documented() -> None:
    documented = set(VARIABLE.findall(OPERATIONS.read_text()))
    assert sorted(SETTINGS - documented) == [], "settings docs/operations.md does not describe"


def test_every_variable_named_in_docs_and_deploy_is_read_by_the_code() -> None:
    unknown = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in _documents()
        for name in VARIABLE.findall(path.read_text())
        if name not in SETTINGS | OTHER_NAMES
    }
    assert sorted(unknown) == []


def _unit(path: Path) -> dict[str, list[str]]:
    """A systemd unit's [Service] directives (the file as systemd reads it: comments dropped)."""
    directives: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        directives.setdefault(f"{section}.{key}", []).append(value)
    return directives


def _env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def _commands() -> set[str]:
    """Every command line the CLI accepts, as 'serve', 'db upgrade', …"""
    names: set[str] = set()

    def walk(command: click.Command, prefix: str) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            names.add(f"{prefix}{name}")
            walk(sub, f"{prefix}{name} ")

    walk(typer.main.get_command(cli_app), "")
    return names


def test_systemd_units_run_real_commands_with_real_settings() -> None:
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {u.name for u in units} >= {"rmmbridge-serve@.service", "rmmbridge-worker@.service"}
    env_file = _env_file(DEPLOY / "rmmbridge.env")
    assert set(env_file) <= SETTINGS
    for unit in units:
        d = _unit(unit)
        (exec_start,) = d["Service.ExecStart"]
        argv = exec_start.split()
        assert argv[0].endswith("/rmmbridge")
        assert " ".join(argv[1:]) in _commands(), f"{unit.name}: `{exec_start}` is not an rmmbridge command"
        assert d["Service.EnvironmentFile"] == ["/etc/rmmbridge/rmmbridge.env"]
        environment = dict(e.split("=", 1) for e in d.get("Service.Environment", []))
        assert set(environment) <= SETTINGS, unit.name
        # The master key: a credential file the process reads through RMMBRIDGE_SECRET_KEY_FILE.
        (credential,) = d["Service.LoadCredential"]
        name = credential.split(":", 1)[0]
        assert environment["RMMBRIDGE_SECRET_KEY_FILE"] == f"%d/{name}"
        if "serve" in unit.name:
            assert environment["RMMBRIDGE_PORT"] == "%i"  # one process per port; nginx lists the ports
        if "worker" in unit.name:
            assert environment["RMMBRIDGE_ORCHESTRATOR"] == "temporal"


def _nginx_directives(text: str) -> list[tuple[str, list[str]]]:
    text = re.sub(r"#[^\n]*", "", text)
    return [(parts[0], parts[1:]) for stmt in re.split(r"[;{}]", text) if (parts := stmt.split())]


def test_nginx_example_matches_what_the_service_reads() -> None:
    text = (DEPLOY / "nginx" / "rmmbridge.conf").read_text()
    directives = _nginx_directives(text)
    values = {}
    for name, args in directives:
        values.setdefault(name, []).append(args)
    env_file = _env_file(DEPLOY / "rmmbridge.env")
    base_host = env_file["RMMBRIDGE_BASE_URL"].split("://", 1)[1].split("/", 1)[0]
    assert env_file["RMMBRIDGE_BASE_URL"].startswith("https://")
    # TLS on 443, for the host the service publishes as its public URL.
    assert any(args[:2] == ["443", "ssl"] for args in values["listen"])
    assert "ssl_certificate" in values and "ssl_certificate_key" in values
    assert all(args == [base_host] for args in values["server_name"])
    # The upstream servers are the serve processes: the bind address of the env file, the
    # unit's per-instance port.
    servers = [args[0] for args in values["server"] if args]  # `server {` blocks have no arguments
    assert servers and all(s.rsplit(":", 1)[0] == env_file["RMMBRIDGE_HOST"] for s in servers)
    # X-Forwarded-*: uvicorn takes the client address and scheme from these (its default trusts
    # 127.0.0.1, where this nginx connects from); the address is what the guessing throttles count.
    headers = {args[0]: args[1] for args in values["proxy_set_header"]}
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["Host"] == "$host"
    # Webhook bodies: nginx must let through everything the receiver accepts (64 KiB), so that
    # rmmbridge, not nginx, answers a too-large one with its reason.
    (size,) = values["client_max_body_size"]
    units = {"k": 1024, "m": 1024 * 1024, "g": 1024**3}
    raw = size[0].lower()
    limit = int(raw[:-1]) * units[raw[-1]] if raw[-1] in units else int(raw)
    assert limit >= MAX_BODY
    assert any(args == ["/api/webhooks/"] for name, args in directives if name == "location")
