"""List tables that stay readable at any terminal width.

Ids are never cut or wrapped (other commands take them); when the terminal is too narrow, the
columns of least value are left out first (said on stderr, with ``--wide`` to show them all),
and only then do the remaining text columns wrap. ``--wide`` shows every column at its full
width, even past the terminal's edge (for a pager or a file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import typer
from rich.console import Console
from rich.table import Table

from .common import console, note

WideOpt = typer.Option(False, "--wide", help="every column at full width, even past the terminal's edge")


@dataclass(frozen=True)
class Col:
    header: str
    drop: int = 0  # 0: always shown; the higher, the sooner it is left out on a narrow terminal
    ident: bool = False  # an id: never wrapped or cut
    justify: str = "left"


def _needed(widths: Sequence[int]) -> int:
    # Rich's default box: one space of padding each side, one rule between and around columns.
    return sum(widths) + 3 * len(widths) + 1


def print_table(
    columns: Sequence[Col], rows: Sequence[Sequence[str]], *, title: str | None = None, wide: bool = False
) -> None:
    natural = [max([len(c.header), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    shown = list(range(len(columns)))
    dropped: list[str] = []
    width = console.width
    if not wide:
        # Leave out the least valuable columns (rightmost first among equals) until the rest fit.
        order = sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: (-columns[i].drop, -i))
        for i in order:
            if _needed([natural[j] for j in shown]) <= width:
                break
            shown.remove(i)
            dropped.append(columns[i].header)
    table = Table(title=title)
    for i in shown:
        c = columns[i]
        if c.ident:
            table.add_column(c.header, no_wrap=True, min_width=natural[i], justify=c.justify)  # type: ignore[arg-type]
        else:
            table.add_column(c.header, overflow="fold", justify=c.justify)  # type: ignore[arg-type]
    for r in rows:
        table.add_row(*(r[i] for i in shown))
    if wide:
        Console(width=max(width, _needed(natural)), no_color=console.no_color, highlight=False,
                soft_wrap=False).print(table)  # fmt: skip
    else:
        console.print(table)
    if dropped:
        note(f"left out to fit {width} columns: {', '.join(reversed(dropped))} (--wide shows every column)")
