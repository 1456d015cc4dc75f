"""Every event type written anywhere in src is in the catalogue, and is named by its constant.

An AST scan of src/rmmbridge: each call of ``events.outbox.emit`` / ``event_row`` (and every
``event_type=`` keyword, ``"event_type":`` dict entry and ``.event_type ==`` comparison) must name
its type through ``rmmbridge.events.catalogue`` — never a string literal — and the name must
resolve to a catalogue type. A type reaching a producer through a local variable or a helper's
parameter is followed to where it is set. New event types therefore cannot be emitted without
a schema, a description, an OpenAPI webhook and a row on docs/events.md (test_catalogue_docs).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from rmmbridge.events import catalogue

SRC = Path(catalogue.__file__).resolve().parents[1]  # src/rmmbridge
OUTBOX_MODULE = "rmmbridge.events.outbox"
CATALOGUE_MODULE = "rmmbridge.events.catalogue"
# Producer functions of events/outbox.py → the position of their event-type argument.
PRODUCERS = {"emit": 2, "event_row": 1}
# In the catalogue, documented as reserved: no producer yet.
RESERVED = {catalogue.WEBHOOK_RECEIVED}


@dataclass
class Module:
    path: Path
    tree: ast.Module
    producers: set[str] = field(default_factory=set)  # local names of emit / event_row
    outbox_aliases: set[str] = field(default_factory=set)  # names bound to the outbox module
    catalogue_aliases: set[str] = field(default_factory=set)  # names bound to the catalogue module
    catalogue_names: dict[str, str] = field(default_factory=dict)  # local name → catalogue attribute
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)
    is_outbox: bool = False

    @property
    def rel(self) -> str:
        return str(self.path.relative_to(SRC.parent))


def load(path: Path) -> Module:
    tree = ast.parse(path.read_text(), str(path))
    mod = Module(path, tree)
    mod.is_outbox = path == SRC / "events" / "outbox.py"
    if mod.is_outbox:
        mod.producers.update(PRODUCERS)
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            mod.parents[child] = node
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                local = alias.asname or alias.name
                if node.module == OUTBOX_MODULE and alias.name in PRODUCERS:
                    mod.producers.add(local)
                elif node.module == CATALOGUE_MODULE:
                    mod.catalogue_names[local] = alias.name
                elif node.module == "rmmbridge.events" and alias.name == "catalogue":
                    mod.catalogue_aliases.add(local)
                elif node.module == "rmmbridge.events" and alias.name == "outbox":
                    mod.outbox_aliases.add(local)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == CATALOGUE_MODULE and alias.asname:
                    mod.catalogue_aliases.add(alias.asname)
    return mod


def modules() -> list[Module]:
    return [load(p) for p in sorted(SRC.rglob("*.py"))]


class Unresolved(AssertionError):
    pass


def enclosing_function(mod: Module, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    while node in mod.parents:
        node = mod.parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node
    return None


def catalogue_value(mod: Module, node: ast.expr) -> object | None:
    """The catalogue attribute ``node`` names (``catalogue.X`` or an imported ``X``), else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        if node.value.id in mod.catalogue_aliases:
            if not hasattr(catalogue, node.attr):
                raise Unresolved(f"catalogue has no {node.attr}")
            return getattr(catalogue, node.attr)
    if isinstance(node, ast.Name) and node.id in mod.catalogue_names:
        name = mod.catalogue_names[node.id]
        if not hasattr(catalogue, name):
            raise Unresolved(f"catalogue has no {name}")
        return getattr(catalogue, name)
    return None


def where(mod: Module, node: ast.AST) -> str:
    return f"{mod.rel}:{getattr(node, 'lineno', '?')}"


def resolve(mod: Module, node: ast.expr, depth: int = 0) -> set[str]:
    """The event types ``node`` may evaluate to; raises when it is a literal or cannot be followed."""
    if depth > 5:
        raise Unresolved(f"{where(mod, node)}: event type followed too far")
    if isinstance(node, ast.Constant):
        raise Unresolved(f"{where(mod, node)}: event type {node.value!r} is a literal; import it from the catalogue")
    value = catalogue_value(mod, node)
    if isinstance(value, str):
        return {value}
    if isinstance(node, ast.Subscript):
        table = catalogue_value(mod, node.value)
        if isinstance(table, dict):
            return set(table.values())
    if isinstance(node, ast.IfExp):
        return resolve(mod, node.body, depth + 1) | resolve(mod, node.orelse, depth + 1)
    if isinstance(node, ast.Name):
        func = enclosing_function(mod, node)
        if func is not None:
            return resolve_local(mod, func, node, depth)
    raise Unresolved(f"{where(mod, node)}: cannot tell which event type {ast.unparse(node)!r} is")


def resolve_local(mod: Module, func: ast.FunctionDef | ast.AsyncFunctionDef, node: ast.Name, depth: int) -> set[str]:
    assigned = [
        n.value
        for n in ast.walk(func)
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == node.id for t in n.targets)
    ]
    if assigned:
        return set().union(*(resolve(mod, v, depth + 1) for v in assigned))
    params = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
    if node.id not in params:
        raise Unresolved(f"{where(mod, node)}: cannot tell which event type {node.id!r} is")
    # A helper's parameter: follow every call of the helper in this module.
    index = params.index(node.id)
    calls = [
        c
        for c in ast.walk(mod.tree)
        if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == func.name
    ]
    if not calls:
        raise Unresolved(f"{where(mod, node)}: {func.name}() passes {node.id!r} on but is never called here")
    found: set[str] = set()
    for call in calls:
        arg = next((k.value for k in call.keywords if k.arg == node.id), None)
        if arg is None and index < len(call.args):
            arg = call.args[index]
        if arg is None:
            raise Unresolved(f"{where(mod, call)}: {func.name}() called without {node.id!r}")
        found |= resolve(mod, arg, depth + 1)
    return found


def producer_calls(mod: Module) -> list[tuple[ast.Call, ast.expr]]:
    """(call, its event-type argument) for every emit / event_row call of the module."""
    out: list[tuple[ast.Call, ast.expr]] = []
    for node in ast.walk(mod.tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = None
        if isinstance(func, ast.Name) and func.id in mod.producers:
            name = func.id
        elif (
            isinstance(func, ast.Attribute)
            and func.attr in PRODUCERS
            and isinstance(func.value, ast.Name)
            and func.value.id in mod.outbox_aliases
        ):
            name = func.attr
        if name is None:
            continue
        enclosing = enclosing_function(mod, node)
        if mod.is_outbox and enclosing is not None and enclosing.name in PRODUCERS:
            continue  # events/outbox.py: emit() handing its own parameter to event_row()
        arg = next((k.value for k in node.keywords if k.arg == "event_type"), None)
        position = PRODUCERS.get(name, PRODUCERS.get(getattr(func, "attr", ""), 1))
        if arg is None and position < len(node.args):
            arg = node.args[position]
        assert arg is not None, f"{where(mod, node)}: {name}() without an event type"
        out.append((node, arg))
    return out


def other_type_literals(mod: Module) -> list[str]:
    """``event_type="…"`` keywords, ``{"event_type": "…"}`` entries and ``x.event_type == "…"``."""
    bad: list[str] = []

    def literal(n: ast.AST | None) -> bool:
        return isinstance(n, ast.Constant) and isinstance(n.value, str)

    for node in ast.walk(mod.tree):
        if isinstance(node, ast.keyword) and node.arg == "event_type" and literal(node.value):
            bad.append(f"{mod.rel}:{node.value.lineno}: event_type={node.value.value!r}")  # type: ignore[attr-defined]
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if literal(k) and k.value == "event_type" and literal(v):  # type: ignore[union-attr]
                    bad.append(f"{where(mod, v)}: 'event_type': {v.value!r}")  # type: ignore[attr-defined]
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(s, ast.Attribute) and s.attr == "event_type" for s in sides):
                bad += [f"{where(mod, s)}: compared with {s.value!r}" for s in sides if literal(s)]  # type: ignore[attr-defined]
    return bad


def scan() -> tuple[dict[str, set[str]], list[str]]:
    """event type → the places writing it; and the problems found."""
    written: dict[str, set[str]] = {}
    problems: list[str] = []
    for mod in modules():
        if "simulators" in mod.path.parts:  # the RMM simulators' own "events" are not ours
            continue
        for call, arg in producer_calls(mod):
            try:
                for event_type in resolve(mod, arg):
                    written.setdefault(event_type, set()).add(where(mod, call))
            except Unresolved as e:
                problems.append(str(e))
        problems += other_type_literals(mod)
    return written, problems


def test_every_event_type_written_is_named_from_the_catalogue() -> None:
    written, problems = scan()
    assert not problems, "\n".join(problems)
    unknown = {t: sorted(w) for t, w in written.items() if t not in catalogue.SUBSCRIBABLE}
    assert not unknown, f"event types written but not in the catalogue: {unknown}"


def test_the_scan_sees_the_producers() -> None:
    """Guard against a scan that passes by finding nothing: every catalogued type (but the reserved
    ones and the test event) has a producer, including the identity/merge and alert-action ones."""
    written, _ = scan()
    missing = set(catalogue.SUBSCRIBABLE) - RESERVED - set(written)
    assert not missing, f"catalogued but never written: {sorted(missing)}"
    places = {p.split(":")[0] for ps in written.values() for p in ps}
    assert {
        "rmmbridge/alerts/actions.py",
        "rmmbridge/identity/service.py",
        "rmmbridge/identity/coverage.py",
        "rmmbridge/ingestion/correlation.py",
        "rmmbridge/assets/service.py",
        "rmmbridge/events/outbox.py",
    } <= places, places


def test_the_scan_rejects_literals_and_unknown_names() -> None:
    src = (
        "from rmmbridge.events import catalogue\n"
        "from rmmbridge.events.outbox import emit, event_row\n"
        "def a(s, t, now):\n"
        "    event_row(t, 'asset.exploded', 'asset', 1, {}, now)\n"
        "async def b(s, t, now):\n"
        "    await emit(s, t, catalogue.ASSET_EXPLODED, 'asset', 1, {}, now)\n"
        "def c(t, kind, now):\n"
        "    return event_row(t, kind, 'asset', 1, {}, now)\n"
        "def d(t, now):\n"
        "    return c(t, 'asset.vanished', now)\n"
        "def e(t, now):\n"
        "    return c(t, catalogue.ASSET_MERGED, now)\n"
    )
    path = SRC / "fake.py"
    tree = ast.parse(src)
    mod = Module(path, tree, producers={"emit", "event_row"}, catalogue_aliases={"catalogue"})
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            mod.parents[child] = node
    outcomes = []
    for _call, arg in producer_calls(mod):
        try:
            outcomes.append(str(sorted(resolve(mod, arg))))
        except Unresolved as e:
            outcomes.append(str(e))
    assert len(outcomes) == 3, outcomes
    text = "\n".join(outcomes)
    assert "fake.py:4: event type 'asset.exploded' is a literal" in text
    assert "catalogue has no ASSET_EXPLODED" in text
    assert "fake.py:10: event type 'asset.vanished' is a literal" in text  # followed through c()
    assert resolve(mod, ast.parse("catalogue.ASSET_ACTION_EVENTS[x]").body[0].value) == {  # type: ignore[attr-defined]
        catalogue.ASSET_MISSING,
        catalogue.ASSET_RETIRED,
        catalogue.ASSET_REVIVED,
        catalogue.ASSET_REKEYED,
    }
    literal = ast.parse("q.where(EventOutbox.event_type == 'coverage.changed')\nX(event_type='asset.x')\n")
    assert len(other_type_literals(Module(path, literal))) == 2
