"""The layers of docs/architecture.md as data, and an AST scan for the imports that break them.

Each module belongs to the layer of the first pattern that matches its dotted name (``pkg.**`` is
the package and everything in it; otherwise fnmatch, whose ``*`` also matches dots). A module may import modules of its own layer and of the layers below it.
Function-level and ``TYPE_CHECKING`` imports count: they are dependencies all the same.
"""

from __future__ import annotations

import ast
import fnmatch
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

# Lowest first. Keep in step with the table in docs/architecture.md ("Layers and import rules").
LAYERS = ["foundation", "storage", "platform", "state", "domain", "ingestion", "jobs", "edge", "entry"]

# (pattern, layer); the first match wins, so the specific patterns come first.
CLASSIFY: list[tuple[str, str]] = [
    # entry: processes and composition roots, which wire everything together
    ("rmmbridge.app", "entry"),
    ("rmmbridge.__main__", "entry"),
    ("rmmbridge.cli.**", "entry"),
    ("rmmbridge.sync.temporal.worker", "entry"),
    # edge: HTTP — the web package and every package's routers, pages and receivers
    ("rmmbridge.web.**", "edge"),
    ("rmmbridge.*.api", "edge"),
    ("rmmbridge.*.ui", "edge"),
    ("rmmbridge.*.views", "edge"),
    ("rmmbridge.*.webhooks", "edge"),
    ("rmmbridge.*.*_ui", "edge"),
    # jobs: the write path's drivers — sync runs, orchestration, alert intake
    ("rmmbridge.sync.**", "jobs"),
    ("rmmbridge.alerts.**", "jobs"),
    ("rmmbridge.delivery.**", "jobs"),
    # ingestion: set-based writers of provider records
    ("rmmbridge.ingestion.**", "ingestion"),
    # domain: repositories, services and rules of the tenant's data; the event outbox
    ("rmmbridge.assets.**", "domain"),
    ("rmmbridge.clients.**", "domain"),
    ("rmmbridge.integrations.**", "domain"),
    ("rmmbridge.events.**", "domain"),
    ("rmmbridge.identity.**", "domain"),
    # state: what a process builds once (AppState) and deployment-wide settings read through it
    ("rmmbridge.state", "state"),
    ("rmmbridge.deployment.**", "state"),
    # platform: tenant context and auth, the secret store, providers and their simulators
    ("rmmbridge.tenancy.**", "platform"),
    ("rmmbridge.secrets.**", "platform"),
    ("rmmbridge.providers.**", "platform"),
    ("rmmbridge.simulators.**", "platform"),
    ("rmmbridge.storage.**", "storage"),
    ("rmmbridge.kit.**", "foundation"),
    ("rmmbridge.errors", "foundation"),
    ("rmmbridge.config", "foundation"),
    ("rmmbridge", "foundation"),
]

# Narrower rules inside a layer: a module matching the key may import only what matches a pattern
# of its value (besides itself and its own package). Providers and simulators speak HTTP and their
# own records; they know nothing of the database, tenants or the service around them.
ONLY: dict[str, list[str]] = {
    "rmmbridge.kit.**": ["rmmbridge.kit.**", "rmmbridge.errors", "rmmbridge"],  # rmmbridge: __version__
    "rmmbridge.providers.**": ["rmmbridge.providers.**", "rmmbridge.kit.**", "rmmbridge.errors"],
    "rmmbridge.simulators.**": ["rmmbridge.simulators.**", "rmmbridge.kit.**", "rmmbridge.errors"],
    "rmmbridge.storage.**": ["rmmbridge.storage.**", "rmmbridge.kit.**", "rmmbridge.errors", "rmmbridge.config"],
}


def matches(module: str, pattern: str) -> bool:
    if pattern.endswith(".**"):
        return module == pattern[:-3] or module.startswith(pattern[:-2])
    return fnmatch.fnmatchcase(module, pattern)


def layer_of(module: str) -> str:
    for pattern, layer in CLASSIFY:
        if matches(module, pattern):
            return layer
    raise LookupError(f"{module} is in no layer: add it to CLASSIFY and to docs/architecture.md")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[Edge]:
    source = module_name(path)
    package = source.split(".") if path.name == "__init__.py" else source.split(".")[:-1]
    edges = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names = [".".join([*base, node.module] if node.module else base)]
            else:
                names = [node.module or ""]
            # `from rmmbridge.sync import runs` imports the module rmmbridge.sync.runs
            names = [f"{names[0]}.{a.name}" if _is_module(f"{names[0]}.{a.name}") else names[0] for a in node.names]
        else:
            continue
        edges += [Edge(source, name, node.lineno) for name in names if name.split(".")[0] == "rmmbridge"]
    return edges


def _is_module(name: str) -> bool:
    base = SRC.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def all_imports() -> list[Edge]:
    return [edge for path in sorted((SRC / "rmmbridge").rglob("*.py")) for edge in imports_of(path)]


def violations(edges: list[Edge]) -> list[str]:
    found = []
    for e in edges:
        src, dst = layer_of(e.source), layer_of(e.target)
        if LAYERS.index(dst) > LAYERS.index(src):
            found.append(f"{e.source}:{e.line} imports {e.target}: {src} may not import {dst}")
            continue
        for pattern, allowed in ONLY.items():
            if matches(e.source, pattern) and not any(matches(e.target, a) for a in allowed):
                found.append(f"{e.source}:{e.line} imports {e.target}: {pattern} may import only {', '.join(allowed)}")
    return sorted(set(found))
