"""The documentation holds together: README.md stays a five-minute read whose relative links
(and those of docs/*.md) all lead somewhere, and the settings table matches the schema."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) and ![alt](target); the target ends at whitespace or the closing bracket.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {_slug(m) for m in re.findall(r"^#{1,6}\s+(.*)$", text, re.M)}


def _relative_links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text())
    return [t for t in LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc):
    broken = []
    for target in _relative_links(doc):
        file_part, _, anchor = target.partition("#")
        dest = (doc.parent / file_part).resolve() if file_part else doc
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not broken, f"{doc.name}: " + "; ".join(broken)


def test_the_link_checker_sees_links_and_skips_urls_and_code(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("[a](docs/a.md) ![p](p.png) [w](https://x.y/z) [m](#here)\n"
                   "```\n[not](a/link.md)\n```\n# Here\n")
    assert _relative_links(doc) == ["docs/a.md", "p.png", "#here"]
    assert _anchors(doc) == {"here"}


def test_readme_is_a_five_minute_read_that_starts_with_the_quick_start():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 250
    sections = re.findall(r"^## (.*)$", FENCE.sub("", readme), re.M)
    assert sections[0] == "Quick start"
    quick = readme.split("## Quick start", 1)[1]
    first_block = quick.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line for line in first_block.splitlines() if line.strip()]
    assert commands == [
        "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/claude-mem demo",
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest",
    ]
    # CI runs that very test command (after setting up what the tests need).
    ci = (ROOT / ".ci" / "run").read_text()
    assert any(line.startswith(commands[1]) for line in ci.splitlines())
    # Every doc in docs/ is reachable from the README.
    linked = {Path(t.partition("#")[0]).name for t in _relative_links(ROOT / "README.md")}
    assert {p.name for p in DOCS[1:]} <= linked
