"""Every link in README.md, CHANGELOG.md and docs/ points to a file in the repository, and every
``#anchor`` to a heading that exists (GitHub's slug rules)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").rglob("*.md")])

_FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.M | re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"(?<!\!)\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?\s*\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)
_HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation removed, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"(?<!\w)_+|_+(?!\w)", "", text)  # emphasis underscores, not snake_case
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text())
    seen: dict[str, int] = {}
    found = set(_HTML_ANCHOR.findall(text))
    for _, heading in _HEADING.findall(text):
        base = slug(heading)
        n = seen.get(base, 0)
        found.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    return found


def links(page: Path) -> list[str]:
    text = _INLINE_CODE.sub("", _FENCE.sub("", page.read_text()))
    return _LINK.findall(text) + _IMAGE.findall(text)


def broken(page: Path) -> list[str]:
    problems = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: — outside the repository
            continue
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        if not dest.is_relative_to(ROOT):
            problems.append(f"{target}: outside the repository")
            continue
        if not dest.exists():
            problems.append(f"{target}: no such file")
            continue
        if anchor:
            if dest.suffix != ".md":
                problems.append(f"{target}: an anchor into a file that is not Markdown")
            elif anchor not in anchors(dest):
                problems.append(f"{target}: no heading #{anchor} in {dest.relative_to(ROOT)}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_links_resolve(page: Path) -> None:
    assert broken(page) == []


def test_the_pages_the_readme_must_link() -> None:
    readme = set(links(ROOT / "README.md"))
    for page in ("docs/architecture.md", "docs/operations.md", "docs/decisions.md", "docs/extending.md",
                 "docs/providers/tacticalrmm.md", "docs/providers/tanium.md", "CHANGELOG.md"):
        assert any(t.split("#")[0] == page for t in readme), f"README.md does not link {page}"
    assert not any("shared/" in t for t in readme)


def test_the_checker_catches_what_it_should(tmp_path: Path) -> None:
    assert slug("The `run` lifecycle (direct & Temporal)") == "the-run-lifecycle-direct--temporal"
    assert slug("Layers and import rules") == "layers-and-import-rules"
    assert slug("RMMBRIDGE_BASE_URL and *friends*") == "rmmbridge_base_url-and-friends"
    page = tmp_path / "x.md"
    page.write_text("# Top\n## Top\n[a](#top-1) [b](#nope) [c](missing.md) `[d](ignored.md)`\n")
    assert anchors(page) == {"top", "top-1"}
    assert links(page) == ["#top-1", "#nope", "missing.md"]
