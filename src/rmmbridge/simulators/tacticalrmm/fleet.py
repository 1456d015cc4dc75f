"""A deterministic, mutable Tactical RMM fleet: clients, sites, agents and alerts.

Only small per-agent records are stored (a few hundred bytes each); the heavy parts of an agent
row — ``wmi_detail``, ``services``, volumes, installed software — are derived on demand from
``(seed, index)`` by :mod:`.agent_data`, so 100,000 agents fit in well under a gigabyte and
20,000 generate in a second or two. The same seed and parameters always give the same fleet.
"""

from __future__ import annotations

import hashlib
import random
import string
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any, Literal

from . import catalog
from .computed import status_of

AgentKind = Literal["win_ws", "win_srv", "linux", "mac"]
AlertType = Literal["availability", "check", "task", "custom"]
Severity = Literal["info", "warning", "error"]
RowProfile = Literal["light", "production"]


@dataclass(slots=True)
class Client:
    id: int
    name: str
    created_time: datetime
    modified_time: datetime
    created_by: str | None = None
    modified_by: str | None = None
    failing_error: bool = False
    failing_warning: bool = False


@dataclass(slots=True)
class Site:
    id: int
    client_id: int
    name: str
    created_time: datetime
    modified_time: datetime
    created_by: str | None = None
    modified_by: str | None = None
    failing_error: bool = False
    failing_warning: bool = False


@dataclass(slots=True)
class AgentRecord:
    """The stored part of an agent; everything else is derived from ``(fleet.seed, index)``."""

    pk: int
    index: int
    agent_id: str
    hostname: str
    site_id: int
    kind: AgentKind
    plat: str
    goarch: str | None
    operating_system: str | None
    os_index: int
    hw: int
    legacy_wmi: bool
    version: str
    monitoring_type: str
    last_seen: datetime | None
    offline_time: int
    overdue_time: int
    check_interval: int
    boot_time: float | int | None
    total_ram: int | None
    public_ip: str | None
    logged_in_username: str | None
    last_logged_in_user: str | None
    needs_reboot: bool
    maintenance_mode: bool
    choco_installed: bool
    patches_last_installed: datetime | None
    created_time: datetime
    modified_time: datetime
    description: str | None
    time_zone: str | None
    has_mesh: bool
    overdue_email_alert: bool
    overdue_text_alert: bool
    overdue_dashboard_alert: bool
    software_id: int | None
    pending_actions: int
    total_checks: int
    live: bool = False

    @property
    def is_windows(self) -> bool:
        return self.plat == "windows"


@dataclass(slots=True)
class Alert:
    id: int
    agent_pk: int | None
    alert_type: AlertType
    severity: Severity
    message: str
    alert_time: datetime
    snoozed: bool = False
    snooze_until: datetime | None = None
    resolved: bool = False
    resolved_on: datetime | None = None
    hidden: bool = False
    email_sent: datetime | None = None
    resolved_email_sent: datetime | None = None
    sms_sent: datetime | None = None
    resolved_sms_sent: datetime | None = None
    action_run: datetime | None = None
    action_stdout: str | None = None
    action_stderr: str | None = None
    action_retcode: int | None = None
    action_execution_time: str | None = None
    resolved_action_run: datetime | None = None
    resolved_action_stdout: str | None = None
    resolved_action_stderr: str | None = None
    resolved_action_retcode: int | None = None
    resolved_action_execution_time: str | None = None
    assigned_check: int | None = None
    assigned_task: int | None = None

    @property
    def is_open(self) -> bool:
        return not self.resolved


CHECKS: tuple[tuple[str, str], ...] = (
    ("diskspace", "Disk Space Drive C: < 10%"),
    ("cpuload", "CPU Load > 85%"),
    ("memory", "Memory > 90%"),
    ("winsvc", "Service Check: Print Spooler"),
    ("ping", "Ping gateway"),
    ("script", "Script Check: Backup Status"),
    ("eventlog", "Event Log Check: Application errors"),
)
TASKS = ("Weekly Reboot", "Clear Temp Files", "Backup Verification", "Defrag Data Volume")


def _index_seed(seed: int, index: int) -> int:
    return (seed * 1_000_003 + index) * 2_654_435_761 % (1 << 61)


def _mix(*parts: object) -> int:
    """A well-mixed 64-bit hash (multiplicative index seeds correlate in their low digits)."""
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "big")


_LETTERS = bytes(ord(string.ascii_letters[i % 52]) for i in range(256))


def _agent_id(rng: random.Random) -> str:
    """40 random letters, like the agent's own ``GenerateAgentID``."""
    return rng.randbytes(40).translate(_LETTERS).decode()


def _client_code(name: str) -> str:
    words = name.replace("&", "").split()
    return words[0][:4].upper() if len(words) < 3 else "".join(w[0] for w in words).upper()


@dataclass(repr=False)
class TacticalFleet:
    """Clients, sites, agents and alerts of one simulated Tactical server, plus mutations."""

    seed: int
    now: datetime
    clients: dict[int, Client] = field(default_factory=dict)
    sites: dict[int, Site] = field(default_factory=dict)
    agents: dict[int, AgentRecord] = field(default_factory=dict)
    alerts: dict[int, Alert] = field(default_factory=dict)
    row_profile: RowProfile = "light"
    _by_agent_id: dict[str, int] = field(default_factory=dict, repr=False)
    _alerts_by_agent: dict[int, list[int]] = field(default_factory=dict, repr=False)
    _next_index: int = 0
    _next_pk: int = 1  # database sequences never reuse an id, even after a delete
    _next_alert_id: int = 1
    _next_software_id: int = 1
    _next_check_id: int = 1
    _next_task_id: int = 1
    _host_counters: dict[tuple[int, str], int] = field(default_factory=dict, repr=False)
    derived_cache: OrderedDict[tuple[object, ...], tuple[object, object, object]] = field(
        default_factory=OrderedDict, repr=False
    )
    # The agent table's wmi-derived columns per agent index, with the key they were derived for
    # (agent_data.table_hardware): small strings only, so one entry per agent stays cheap.
    table_cache: dict[int, tuple[tuple[object, ...], tuple[object, ...]]] = field(default_factory=dict, repr=False)
    # Encoded Beta agent rows per agent pk, with the values they were encoded from (row_cache.py).
    encoded_rows: OrderedDict[int, tuple[tuple[object, ...], bytes]] = field(default_factory=OrderedDict, repr=False)
    encoded_bytes: int = field(default=0, repr=False)
    # Installed software removed by the control API: agent pk -> {(name, version)} no longer listed.
    software_removed: dict[int, set[tuple[str, str]]] = field(default_factory=dict, repr=False)
    # Shared-fleet identities (simulators/shared_fleet.py): agent index -> the machine it runs on.
    identities: dict[int, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return (
            f"TacticalFleet(seed={self.seed}, clients={len(self.clients)}, sites={len(self.sites)}, "
            f"agents={len(self.agents)}, alerts={len(self.alerts)})"
        )

    # ----- lookups -------------------------------------------------------------------------
    def agent(self, pk: int) -> AgentRecord | None:
        return self.agents.get(pk)

    def agent_by_agent_id(self, agent_id: str) -> AgentRecord | None:
        pk = self._by_agent_id.get(agent_id)
        return self.agents.get(pk) if pk is not None else None

    def client_id_of(self, agent: AgentRecord) -> int:
        return self.sites[agent.site_id].client_id

    def client_of(self, agent: AgentRecord) -> Client:
        return self.clients[self.client_id_of(agent)]

    def clients_by_name(self) -> list[Client]:
        return sorted(self.clients.values(), key=lambda c: c.name)

    def alerts_of(self, agent_pk: int) -> list[Alert]:
        return [self.alerts[i] for i in self._alerts_by_agent.get(agent_pk, ()) if i in self.alerts]

    def status_counts(self, now: datetime) -> dict[str, int]:
        counts = {"online": 0, "offline": 0, "overdue": 0}
        for agent in self.agents.values():
            counts[status_of(agent, now)] += 1
        return counts

    def status_counts_by_client(self, now: datetime) -> dict[int, dict[str, int]]:
        counts = {cid: {"online": 0, "offline": 0, "overdue": 0} for cid in self.clients}
        for agent in self.agents.values():
            counts[self.client_id_of(agent)][status_of(agent, now)] += 1
        return counts

    # ----- mutations -----------------------------------------------------------------------
    def move_agent(self, pk: int, site_id: int, *, when: datetime | None = None) -> AgentRecord:
        """Move an agent to another site (and so possibly another client)."""
        agent = self._require(pk)
        if site_id not in self.sites:
            raise KeyError(f"no site {site_id}")
        agent.site_id = site_id
        agent.modified_time = when or self.now
        return agent

    def delete_agent(self, pk: int) -> None:
        """Delete an agent; its alerts go with it (cascade), as in Tactical."""
        agent = self.agents.pop(pk)
        self._by_agent_id.pop(agent.agent_id, None)
        for alert_id in self._alerts_by_agent.pop(pk, []):
            self.alerts.pop(alert_id, None)

    def add_agent(
        self,
        site_id: int,
        *,
        kind: AgentKind = "win_ws",
        last_seen: datetime | None = None,
        hostname: str | None = None,
        when: datetime | None = None,
    ) -> AgentRecord:
        """Install a new agent on ``site_id``; it gets the next pk and a fresh 40-char agent_id."""
        if site_id not in self.sites:
            raise KeyError(f"no site {site_id}")
        created = when or self.now
        index = self._next_index
        self._next_index += 1
        pk = self._next_pk
        rng = random.Random(_index_seed(self.seed, index))
        agent = _make_agent(self, rng, pk, index, self.sites[site_id], kind, created, created)
        agent.last_seen = last_seen if last_seen is not None else created
        agent.live = last_seen is None
        if hostname:
            agent.hostname = hostname
        self._store(agent)
        return agent

    def set_last_seen(self, pk: int, when: datetime | None) -> AgentRecord:
        agent = self._require(pk)
        agent.last_seen = when
        return agent

    def rename_agent(self, pk: int, hostname: str, *, when: datetime | None = None) -> AgentRecord:
        agent = self._require(pk)
        agent.hostname = hostname
        agent.modified_time = when or self.now
        return agent

    def heartbeat(self, now: datetime, *, stop_share: float = 0.0, outage: timedelta = timedelta(minutes=40)) -> int:
        """Let every "live" agent check in again (``last_seen`` within the last minute).

        With ``stop_share``, that share of live agents is out at any moment: each agent's time is
        cut into ``outage``-long slots (offset per agent, so outages start at different times) and
        a slot is an outage for a deterministic ``stop_share`` of (seed, agent, slot) — the agent
        stops checking in (offline, then overdue once the outage outlasts its overdue time) and
        comes back in a later slot.
        """
        count = 0
        for agent in self.agents.values():
            if agent.live and not (stop_share and self.is_out(agent, now, stop_share, outage)):
                agent.last_seen = now - timedelta(seconds=(agent.index * 7919) % 50)
                count += 1
        return count

    def is_out(self, agent: AgentRecord, now: datetime, stop_share: float, outage: timedelta) -> bool:
        span = max(1, int(outage.total_seconds()))
        phase = _mix(self.seed, agent.index, "phase") % span
        slot = (int(now.timestamp()) + phase) // span
        return _mix(self.seed, agent.index, slot) % 10_000 < stop_share * 10_000

    def add_alert(
        self,
        agent_pk: int | None,
        alert_type: AlertType,
        severity: Severity = "error",
        *,
        message: str | None = None,
        when: datetime | None = None,
        hidden: bool = False,
        check_id: int | None = None,
        task_id: int | None = None,
    ) -> Alert:
        """Open an alert. Like Tactical, one condition has at most one open alert: asking again
        for an open condition returns the existing alert."""
        when = when or self.now
        if agent_pk is not None:
            agent = self._require(agent_pk)
            for existing in self.alerts_of(agent_pk):
                if (
                    existing.is_open
                    and existing.alert_type == alert_type
                    and existing.assigned_check == check_id
                    and existing.assigned_task == task_id
                ):
                    return existing
            if message is None:
                message = self._default_message(agent, alert_type, check_id, task_id)
        elif alert_type != "custom":
            raise ValueError("only custom alerts have no agent")
        alert = Alert(
            id=self._next_alert_id,
            agent_pk=agent_pk,
            alert_type=alert_type,
            severity="error" if alert_type == "availability" else severity,
            message=message or "Custom alert",
            alert_time=when,
            hidden=hidden,
            assigned_check=check_id,
            assigned_task=task_id,
        )
        self._store_alert(alert)
        return alert

    def resolve_alert(self, alert_id: int, *, when: datetime | None = None) -> Alert:
        alert = self.alerts[alert_id]
        alert.resolved = True
        alert.resolved_on = when or self.now
        alert.snoozed = False
        alert.snooze_until = None
        return alert

    def snooze_alert(self, alert_id: int, until: datetime) -> Alert:
        alert = self.alerts[alert_id]
        alert.snoozed = True
        alert.snooze_until = until
        return alert

    # ----- internals -----------------------------------------------------------------------
    def _require(self, pk: int) -> AgentRecord:
        agent = self.agents.get(pk)
        if agent is None:
            raise KeyError(f"no agent {pk}")
        return agent

    def _store(self, agent: AgentRecord) -> None:
        self.agents[agent.pk] = agent
        self._by_agent_id[agent.agent_id] = agent.pk
        self._next_pk = max(self._next_pk, agent.pk + 1)

    def _store_alert(self, alert: Alert) -> None:
        self.alerts[alert.id] = alert
        self._next_alert_id = max(self._next_alert_id, alert.id + 1)
        if alert.agent_pk is not None:
            self._alerts_by_agent.setdefault(alert.agent_pk, []).append(alert.id)

    def _default_message(
        self, agent: AgentRecord, alert_type: AlertType, check_id: int | None, task_id: int | None
    ) -> str:
        if alert_type == "availability":
            site = self.sites[agent.site_id]
            return f"{agent.hostname} in {self.clients[site.client_id].name}, {site.name} is overdue."
        if alert_type == "check":
            check_type, desc = CHECKS[(check_id or 0) % len(CHECKS)]
            return f"{agent.hostname} has a {check_type} check: {desc} that failed."
        if alert_type == "task":
            return f"{agent.hostname} has task: {TASKS[(task_id or 0) % len(TASKS)]} that failed."
        return "Custom alert"

    def _hostname(self, rng: random.Random, site: Site, kind: AgentKind) -> str:
        code = _client_code(self.clients[site.client_id].name)
        first = rng.choice(catalog.FIRST_NAMES)
        last = rng.choice(catalog.LAST_NAMES)
        if kind == "win_ws":
            roll = rng.random()
            if roll < 0.25:
                return "DESKTOP-" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=7))
            if roll < 0.35:
                return f"{first[0]}{last}-{rng.choice(('PC', 'LT'))}".upper()
            prefix = rng.choice(("LT", "WS", "PC"))
            return f"{code}-{prefix}-{self._count(site.client_id, prefix):04d}"
        if kind == "win_srv":
            role = rng.choice(("DC", "FS", "SQL", "HV", "RDS", "APP", "BKP", "PRINT"))
            return f"{code}-{role}{self._count(site.client_id, role):02d}"
        if kind == "linux":
            role = rng.choice(("web", "db", "backup", "docker", "pbs", "nas", "vpn", "monitor"))
            return f"{role}-{code.lower()}-{self._count(site.client_id, role):02d}"
        roll = rng.random()
        if roll < 0.4:
            return f"{first.capitalize()}s-MacBook-{rng.choice(('Pro', 'Air'))}"
        return f"{code}-MAC-{self._count(site.client_id, 'MAC'):03d}"

    def _count(self, client_id: int, key: str) -> int:
        n = self._host_counters.get((client_id, key), 0) + 1
        self._host_counters[(client_id, key)] = n
        return n


def windows_os_pool(kind: AgentKind, legacy: bool) -> tuple[tuple[str, str, str, str], ...]:
    """The (operating_system, Caption, Version, BuildNumber) pool a Windows agent draws from."""
    if kind == "win_ws":
        return catalog.WIN_WS_OS_OLD if legacy else catalog.WIN_WS_OS
    return catalog.WIN_SRV_OS_OLD if legacy else catalog.WIN_SRV_OS


def _thresholds(rng: random.Random) -> tuple[int, int]:
    roll = rng.random()
    if roll < 0.90:
        return 4, 30
    if roll < 0.96:
        offline = rng.choice((5, 10, 15, 60))
        return offline, rng.choice(tuple(v for v in (60, 120, 480, 1440) if v > offline))
    if roll < 0.98:
        return 10, 5  # overdue < offline: never "offline"
    if roll < 0.99:
        return 15, 15
    if roll < 0.995:
        return 0, 30
    return 4, 0


def _last_seen(rng: random.Random, index: int, now: datetime, offline: int, overdue: int) -> datetime | None:
    if index % 97 == 13:
        return now - timedelta(minutes=offline)  # exactly on the offline cut-off: "online"
    if index % 97 == 41:
        return now - timedelta(minutes=overdue)  # exactly on the overdue cut-off: "online" (quirk)
    roll = rng.random()
    if roll < 0.02:
        return None
    if roll < 0.025:
        return now + timedelta(seconds=rng.uniform(1, 20))  # agent clock ahead
    if roll < 0.70:
        return now - timedelta(seconds=rng.uniform(0, 55))
    if roll < 0.80 and overdue > offline + 1:
        return now - timedelta(seconds=rng.uniform(offline * 60 + 1, overdue * 60 - 1))
    return now - timedelta(minutes=max(offline, overdue) + rng.expovariate(1 / 4000) + 1)


def _public_ip(rng: random.Random, site: Site) -> str:
    blocks = ("203.0.113", "198.51.100", "192.0.2")
    return f"{blocks[site.id % 3]}.{(site.id * 37) % 250 + 2}" if rng.random() < 0.9 else (
        f"{rng.choice(blocks)}.{rng.randint(2, 254)}"
    )


def _make_agent(
    fleet: TacticalFleet,
    rng: random.Random,
    pk: int,
    index: int,
    site: Site,
    kind: AgentKind,
    created: datetime,
    now: datetime,
) -> AgentRecord:
    offline, overdue = _thresholds(rng)
    last_seen = _last_seen(rng, index, now, offline, overdue)
    legacy = kind in ("win_ws", "win_srv") and rng.random() < 0.15
    version = rng.choice(catalog.OLD_AGENT_VERSIONS if legacy else catalog.AGENT_VERSIONS)
    os_pool: tuple[str, ...]
    if kind in ("win_ws", "win_srv"):
        plat, goarch = "windows", "amd64"
        hardware_pool = catalog.WIN_WORKSTATIONS if kind == "win_ws" else catalog.WIN_SERVERS
        hw = rng.randrange(len(hardware_pool))
        ram = rng.choice(hardware_pool[hw].ram_gb)
        os_pool = tuple(entry[0] for entry in windows_os_pool(kind, legacy))
        monitoring_type = "workstation" if kind == "win_ws" else "server"
    else:
        posix_pool = catalog.LINUX_HARDWARE if kind == "linux" else catalog.MAC_HARDWARE
        hw = rng.randrange(len(posix_pool))
        hardware = posix_pool[hw]
        ram = rng.choice(hardware.ram_gb)
        goarch = hardware.goarch
        if kind == "linux":
            plat = "linux"
            os_pool = catalog.LINUX_ARM_OS if goarch == "arm64" else catalog.LINUX_OS
            monitoring_type = "workstation" if rng.random() < 0.1 else "server"
        else:
            plat = "darwin"
            os_pool = catalog.MAC_OS if goarch == "arm64" else catalog.MAC_INTEL_OS
            monitoring_type = "workstation"
    os_index = rng.randrange(len(os_pool))
    operating_system = os_pool[os_index]
    odd = rng.random()
    if odd < 0.01:
        monitoring_type = ""  # missing: consumers must fall back to the OS string
    elif odd < 0.013:
        monitoring_type = "unknown"
    elif odd < 0.03:
        monitoring_type = "server" if monitoring_type == "workstation" else "workstation"
    arch: str | None = goarch
    if kind == "win_ws" and rng.random() < 0.01:
        arch = "386"
    if last_seen is None and rng.random() < 0.5:
        arch = None

    user = f"{rng.choice(catalog.FIRST_NAMES)[0]}{rng.choice(catalog.LAST_NAMES)}"
    if kind in ("win_ws", "mac"):
        last_user: str | None = user
        logged_in = user if rng.random() < 0.75 else "None"
    elif kind == "win_srv":
        last_user = rng.choice(catalog.SERVICE_ACCOUNTS)
        logged_in = last_user if rng.random() < 0.2 else "None"
    else:
        last_user = rng.choice(("root", user))
        logged_in = "None" if rng.random() < 0.8 else last_user

    seen_reference = last_seen or now
    uptime = rng.uniform(600, 40 * 86400)
    boot_epoch = (min(seen_reference, now) - timedelta(seconds=uptime)).timestamp()
    boot_time: float | int | None = round(boot_epoch, 4) if plat == "windows" else int(boot_epoch)
    windows = plat == "windows"
    never = last_seen is None
    agent = AgentRecord(
        pk=pk,
        index=index,
        agent_id=_agent_id(rng),
        hostname=fleet._hostname(rng, site, kind),
        site_id=site.id,
        kind=kind,
        plat=plat,
        goarch=arch,
        operating_system=None if never and rng.random() < 0.5 else operating_system,
        os_index=os_index,
        hw=hw,
        legacy_wmi=legacy,
        version=version,
        monitoring_type=monitoring_type,
        last_seen=last_seen,
        offline_time=offline,
        overdue_time=overdue,
        check_interval=rng.choice((120, 120, 120, 60, 300)),
        boot_time=None if never else boot_time,
        total_ram=None if never else ram,
        public_ip=None if never or rng.random() < 0.01 else _public_ip(rng, site),
        logged_in_username=None if never else logged_in,
        last_logged_in_user=None if never else last_user,
        needs_reboot=windows and rng.random() < 0.1,
        maintenance_mode=rng.random() < 0.02,
        choco_installed=windows and rng.random() < 0.6,
        patches_last_installed=(
            seen_reference - timedelta(days=rng.uniform(1, 45)) if windows and not never and rng.random() < 0.9
            else None
        ),
        created_time=created,
        modified_time=created + (now - created) * rng.random() * 0.5 if now > created else created,
        description=rng.choice(("", "", "", None, "Front desk", "Reception PC", "Spare laptop", "Owner's laptop"))
        if kind != "win_srv" else rng.choice(("", "Domain controller", "File server", None)),
        time_zone=rng.choice(catalog.TIME_ZONES) if rng.random() < 0.1 else None,
        has_mesh=rng.random() < 0.95,
        overdue_email_alert=kind == "win_srv" and rng.random() < 0.6,
        overdue_text_alert=kind == "win_srv" and rng.random() < 0.2,
        overdue_dashboard_alert=rng.random() < 0.7,
        software_id=None,
        pending_actions=rng.choice((0, 0, 0, 0, 0, 1, 2)),
        total_checks=rng.randint(0, 8) if windows else rng.randint(0, 3),
    )
    if windows and not never and rng.random() < 0.95:
        agent.software_id = fleet._next_software_id
        fleet._next_software_id += 1
    agent.live = last_seen is not None and status_of(agent, now) == "online" and last_seen <= now
    return agent


def _client_names(rng: random.Random, count: int) -> list[str]:
    combos = [f"{w} {t}" for w in catalog.CLIENT_WORDS for t in catalog.CLIENT_TRADES]
    chosen = rng.sample(combos, min(count, len(combos)))
    n = 2
    while len(chosen) < count:
        chosen.extend(f"{name} {n}" for name in combos[: count - len(chosen)])
        n += 1
    return chosen


def _generate_alerts(fleet: TacticalFleet, rng: random.Random, now: datetime) -> None:
    pending: list[Alert] = []

    def new(agent: AgentRecord | None, alert_type: AlertType, severity: Severity, message: str,
            when: datetime, *, check: int | None = None, task: int | None = None) -> Alert:
        alert = Alert(0, agent.pk if agent else None, alert_type, severity, message, when,
                      hidden=alert_type != "custom" and rng.random() < 0.4,
                      assigned_check=check, assigned_task=task)
        if severity == "error" and rng.random() < 0.7:
            alert.email_sent = when + timedelta(seconds=60)
        if alert_type != "custom" and rng.random() < 0.5:
            alert.action_run = when + timedelta(seconds=rng.uniform(1, 5))
            ok = rng.random() < 0.9
            alert.action_retcode = 200 if ok else 500
            alert.action_stdout = (
                '{"ok": true, "outcome": "created"}' if ok
                else "HTTPSConnectionPool(host='psa.example.net', port=443): Read timed out. (read timeout=8)"
            )
            alert.action_stderr = ""
            alert.action_execution_time = f"{rng.uniform(0.05, 2.5):.4f}"
        pending.append(alert)
        return alert

    def resolve(alert: Alert, when: datetime) -> None:
        alert.resolved, alert.resolved_on = True, min(when, now)
        if alert.action_run is not None:
            alert.resolved_action_run = alert.resolved_on
            alert.resolved_action_retcode = 200
            alert.resolved_action_stdout = '{"ok": true, "outcome": "resolved"}'
            alert.resolved_action_stderr = ""
            alert.resolved_action_execution_time = f"{rng.uniform(0.05, 1.5):.4f}"

    for agent in fleet.agents.values():
        if agent.maintenance_mode:
            continue
        if status_of(agent, now) == "overdue" and agent.last_seen is not None and rng.random() < 0.9:
            when = agent.last_seen + timedelta(minutes=agent.overdue_time, seconds=rng.uniform(0, 150))
            new(agent, "availability", "error", fleet._default_message(agent, "availability", None, None),
                min(when, now))
        roll = rng.random()
        if roll < 0.12:
            check_id = fleet._next_check_id
            fleet._next_check_id += 1
            severity: Severity = rng.choices(("info", "warning", "error"), (20, 35, 45))[0]
            alert = new(agent, "check", severity, fleet._default_message(agent, "check", check_id, None),
                        now - timedelta(hours=rng.uniform(0.1, 24 * 20)), check=check_id)
            if rng.random() < 0.1:
                alert.snoozed, alert.snooze_until = True, now + timedelta(days=rng.randint(1, 7))
            if rng.random() < 0.3:  # an earlier failure of the same check, resolved
                old = new(agent, "check", severity, alert.message,
                          alert.alert_time - timedelta(days=rng.uniform(1, 30)), check=check_id)
                resolve(old, old.alert_time + timedelta(hours=rng.uniform(0.1, 12)))
        elif roll < 0.16:
            task_id = fleet._next_task_id
            fleet._next_task_id += 1
            alert = new(agent, "task", rng.choice(("warning", "error")),
                        fleet._default_message(agent, "task", None, task_id),
                        now - timedelta(hours=rng.uniform(0.1, 24 * 10)), task=task_id)
            if rng.random() < 0.1:
                alert.snoozed, alert.snooze_until = True, now + timedelta(days=rng.randint(1, 3))
        if rng.random() < 0.2:  # history: a resolved availability blip
            when = now - timedelta(days=rng.uniform(1, 60))
            old = new(agent, "availability", "error", fleet._default_message(agent, "availability", None, None),
                      when)
            resolve(old, when + timedelta(minutes=rng.uniform(5, 600)))
    client_names = [c.name for c in fleet.clients.values()]
    for n in range(max(2, len(fleet.clients) // 2)):
        name = client_names[n % len(client_names)] if client_names else "Acme"
        custom = new(None, "custom", rng.choice(("info", "warning")),
                     f"Offsite replication for {name} finished with warnings",
                     now - timedelta(hours=rng.uniform(1, 24 * 14)))
        if rng.random() < 0.5:
            resolve(custom, custom.alert_time + timedelta(hours=2))
    pending.sort(key=lambda a: a.alert_time)
    for n, alert in enumerate(pending, start=1):
        alert.id = n
        fleet._store_alert(alert)


def generate_fleet(
    seed: int = 1,
    clients: int = 5,
    agents: int = 200,
    sites_per_client: int = 3,
    now: datetime | None = None,
) -> TacticalFleet:
    """Build a deterministic fleet: the same arguments (and ``now``) give the same fleet.

    ``now`` anchors ``last_seen`` and every other timestamp; it defaults to the current time, so
    pass it explicitly when comparing two fleets. Agents are ~80 % Windows (a fifth of them
    servers), ~12 % Linux and ~8 % macOS.
    """
    if clients < 1 or sites_per_client < 1 or agents < 0:
        raise ValueError("need at least one client and one site per client")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    rng = random.Random(seed)
    fleet = TacticalFleet(seed=seed, now=now)
    start = now - timedelta(days=900)
    span = now - timedelta(days=30) - start
    names = _client_names(rng, clients)
    site_id = 0
    for cid, name in enumerate(names, start=1):
        created = start + span * (cid / (clients + 1))
        fleet.clients[cid] = Client(
            cid, name, created, created + timedelta(seconds=rng.uniform(0, 3600)),
            created_by=rng.choice((None, "tactical", "admin")),
            failing_error=rng.random() < 0.4, failing_warning=rng.random() < 0.2,
        )
        site_names = list(catalog.SITE_NAMES[2:])
        rng.shuffle(site_names)
        first = "Headquarters" if rng.random() < 0.7 else "Main Office"
        for s in range(sites_per_client):
            site_id += 1
            sname = first if s == 0 else site_names[(s - 1) % len(site_names)]
            if s > len(site_names):
                sname = f"{sname} {s}"
            screated = created + timedelta(minutes=5 * s)
            fleet.sites[site_id] = Site(
                site_id, cid, sname, screated, screated, created_by=fleet.clients[cid].created_by,
                failing_error=rng.random() < 0.3, failing_warning=rng.random() < 0.15,
            )
    client_weights = list(accumulate(rng.paretovariate(1.2) for _ in range(clients)))
    sites_of: dict[int, list[Site]] = {}
    for site in fleet.sites.values():
        sites_of.setdefault(site.client_id, []).append(site)
    site_weights = {cid: list(accumulate(3 if i == 0 else 1 for i in range(len(s)))) for cid, s in sites_of.items()}
    kinds: tuple[AgentKind, ...] = ("win_ws", "win_srv", "linux", "mac")
    kind_weights = list(accumulate((64, 16, 12, 8)))
    agent_span = now - timedelta(days=1) - start
    for index in range(agents):
        cid = bisect_right(client_weights, rng.random() * client_weights[-1]) + 1
        csites = sites_of[min(cid, clients)]
        weights = site_weights[csites[0].client_id]
        site = csites[bisect_right(weights, rng.random() * weights[-1])]
        kind = kinds[bisect_right(kind_weights, rng.random() * kind_weights[-1])]
        created = start + agent_span * ((index + 0.5) / max(agents, 1))
        arng = random.Random(_index_seed(seed, index))
        fleet._store(_make_agent(fleet, arng, index + 1, index, site, kind, created, now))
    fleet._next_index = agents
    _generate_alerts(fleet, rng, now)
    return fleet
