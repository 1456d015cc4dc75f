"""Browser tests: the real app on a real port, driven by Playwright with Debian's Chromium.

The app runs under uvicorn in a background thread (its own event loop) on 127.0.0.1 and a free
port, on a fresh SQLite database built by the migrations, with the test provider registry and the
RMM simulators routed in-process through ``RoutedTransport``. Test data that is not what a test is
about (tenants, connected integrations, synced fleets) is set up through the services and the
REST API, so each test drives the browser only through the flow it checks.

Chromium is never downloaded: ``/usr/bin/chromium`` (Debian's package, installed by
``scripts/system-deps.sh``) is used; without it the tests skip locally and fail with ``CI=true``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from rmmbridge.app import create_app
from rmmbridge.config import Settings
from rmmbridge.kit.http import RoutedTransport
from rmmbridge.storage import migrate
from rmmbridge.storage.db import create_engine, unit_of_work
from rmmbridge.tenancy import service as tenancy
from tests.conftest import TEST_SECRET_KEY, build_test_registry

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "correct horse battery staple"
T = TypeVar("T")


# --------------------------------------------------------------------------- the live server


class LiveServer:
    """uvicorn serving ``create_app(...)`` in a thread with its own event loop."""

    def __init__(self, db_dir: Path) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        database_url = f"sqlite+aiosqlite:///{db_dir / 'rmmbridge.db'}"

        async def _migrate() -> None:
            engine = create_engine(database_url)
            await migrate.upgrade(engine)
            await engine.dispose()

        # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
        migrator = threading.Thread(target=lambda: asyncio.run(_migrate()), name="migrate")
        migrator.start()
        migrator.join(60)
        settings = Settings(
            database_url=database_url,
            secret_key=TEST_SECRET_KEY,  # type: ignore[arg-type]
            secret_key_file=db_dir / "secret.key",
            base_url=self.url,
            scheduler_enabled=False,
        )
        self.transport = RoutedTransport()
        self.app = create_app(settings, registry=build_test_registry(), http_transport=self.transport)
        self.state = self.app.state.rmm
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name=f"uvicorn-{self.port}", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine on the server's loop (so it shares the app's engine) and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (bash scripts/system-deps.sh)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def live(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("live"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session", autouse=True)
def _artifacts_dir() -> None:
    ARTIFACTS.mkdir(exist_ok=True)


def shot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot artifact under ``test-artifacts/``."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# --------------------------------------------------------------------------- accounts


@dataclass
class Account:
    tenant_id: uuid.UUID
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_account(live: LiveServer, label: str = "msp", role: str = "admin") -> Account:
    suffix = uuid.uuid4().hex[:8]

    async def _create() -> Account:
        async with unit_of_work(live.state.sessionmaker) as db:
            tenant = await tenancy.create_tenant(db, f"{label.title()} MSP {suffix}")
            email = f"{role}-{suffix}@{label}.example"
            user = await tenancy.create_user(db, tenant.id, email, PASSWORD, role)
            token = (await tenancy.issue_api_token(db, user, "e2e")).token
            return Account(tenant.id, email, PASSWORD, token)

    return live.call(_create())


@pytest.fixture
def account(live: LiveServer) -> Account:
    return make_account(live)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[_FAILED] = report.failed


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def new_page(browser: Any, live: LiveServer, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Factory of pages in fresh browser contexts (1280 px wide unless told), closed afterwards.

    When the test fails, every page it opened is saved as ``test-artifacts/FAILED-<test>-<n>.png``.
    """
    contexts: list[Any] = []

    def make(width: int = 1280, height: int = 900, account: Account | None = None, **kwargs: Any) -> Any:
        ctx = browser.new_context(viewport={"width": width, "height": height}, base_url=live.url, **kwargs)
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        if account is not None:
            sign_in_cookie(live, ctx, account)
        return ctx.new_page()

    yield make
    if request.node.stash.get(_FAILED, False):
        n = 0
        for ctx in contexts:
            for page in ctx.pages:
                n += 1
                try:
                    shot(page, f"FAILED-{request.node.name}-{n}")
                except Exception:  # a page that cannot be captured must not hide the failure
                    pass
    for ctx in contexts:
        ctx.close()


def sign_in_cookie(live: LiveServer, context: Any, account: Account) -> None:
    """A UI session for ``account`` put straight into the browser (the login form has its own test)."""

    async def _session() -> str:
        async with unit_of_work(live.state.sessionmaker) as db:
            user = await tenancy.find_user_by_email(db, account.email)
            return (await tenancy.start_session(db, user, 3600)).cookie_value

    context.add_cookies([{"name": "rmmbridge_session", "value": live.call(_session()), "url": live.url}])


# --------------------------------------------------------------------------- simulators and API set-up


@dataclass
class TacticalSim:
    host: str
    fleet: Any
    app: Any

    @property
    def url(self) -> str:
        return f"https://{self.host}"


@pytest.fixture
def tactical(live: LiveServer) -> Callable[..., TacticalSim]:
    """A fresh Tactical RMM simulator on a host of its own, routed in-process."""
    pytest.importorskip("rmmbridge.providers.tacticalrmm")
    from rmmbridge.simulators.tacticalrmm import create_app as tactical_app
    from rmmbridge.simulators.tacticalrmm import generate_fleet

    def make(clients: int = 4, agents: int = 40, seed: int = 5, **kwargs: Any) -> TacticalSim:
        fleet = generate_fleet(seed=seed, clients=clients, agents=agents, sites_per_client=2)
        app = tactical_app(fleet, **kwargs)
        host = f"tactical-{uuid.uuid4().hex[:8]}.example"
        live.transport.add(host, app)
        return TacticalSim(host, fleet, app)

    return make


class Api:
    """The REST API as ``account`` (bearer token), for set-up steps a test is not about."""

    def __init__(self, live: LiveServer, account: Account) -> None:
        self.client = httpx.Client(base_url=live.url, headers=account.headers, timeout=30)

    def __call__(self, method: str, path: str, **kwargs: Any) -> Any:
        r = self.client.request(method, "/api/v1" + path, **kwargs)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def connect_tactical(self, sim: TacticalSim, **values: Any) -> str:
        from rmmbridge.simulators.tacticalrmm import DEFAULT_CREDENTIALS

        iid = self("POST", "/integrations", json={"provider": "tacticalrmm"})["id"]
        self(
            "PUT",
            f"/integrations/{iid}/credentials",
            json={
                "instance_url": sim.url,
                "auth_mode": "api_key",
                "values": {"api_key": DEFAULT_CREDENTIALS.api_key, **values},
            },
        )
        assert self("POST", f"/integrations/{iid}/test")["ok"]
        return iid

    def sync(self, iid: str, kind: str, timeout: float = 60) -> dict[str, Any]:
        run = self("POST", f"/integrations/{iid}/sync/{kind}")["run"]
        return self.wait_run(run["id"], timeout)

    def wait_run(self, run_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self("GET", f"/sync-runs/{run_id}")
            if run["status"] not in ("queued", "running"):
                return run  # type: ignore[no-any-return]
            assert time.monotonic() < deadline, f"run {run_id} still {run['status']}"
            time.sleep(0.1)

    def map_all(self, iid: str) -> None:
        for m in self("GET", f"/integrations/{iid}/mappings", params={"page_size": 500})["items"]:
            if m["client_id"] is None:
                self("POST", f"/integrations/{iid}/mappings/{m['id']}/create-client")

    def fleet_ready(self, sim: TacticalSim, *, software: bool = False, alerts: bool = False) -> str:
        """Connected, organizations synced and mapped, devices synced (and optionally more)."""
        iid = self.connect_tactical(sim)
        assert self.sync(iid, "scopes")["status"] == "succeeded"
        self.map_all(iid)
        assert self.sync(iid, "devices")["status"] == "succeeded"
        if software:
            assert self.sync(iid, "software")["status"] == "succeeded"
        if alerts:
            assert self.sync(iid, "alerts")["status"] == "succeeded"
        return iid

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def api(live: LiveServer, account: Account) -> Iterator[Api]:
    client = Api(live, account)
    yield client
    client.close()


def now_utc() -> datetime:
    return datetime.now(UTC)


def unlabeled_controls(page: Any) -> list[str]:
    """Visible form controls without an accessible label (label element, aria-label/-labelledby)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('input, select, textarea'))
          .filter(el => el.type !== 'hidden' && !el.closest('[hidden]'))
          .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
          .map(el => el.outerHTML.slice(0, 120))"""
    )


def nameless_buttons(page: Any) -> list[str]:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('button, a[href]'))
          .filter(el => !el.closest('[hidden]') && !(el.textContent || '').trim() && !el.getAttribute('aria-label'))
          .map(el => el.outerHTML.slice(0, 120))"""
    )


__all__ = ["ARTIFACTS", "PASSWORD", "Account", "Api", "LiveServer", "TacticalSim", "make_account", "shot"]
