"""Codex's ``apply_patch`` edits, read by the offline compressor like Claude Code's Edit/Write.

Contract: ``parse(text)`` reads the patch format Codex's ``apply_patch`` tool takes
(``*** Begin Patch`` … ``*** Add File: P`` / ``*** Update File: P`` [``*** Move to: Q``] /
``*** Delete File: P`` with ``+``/``-``/`` `` lines … ``*** End Patch``) into one
``FilePatch`` per file, tolerating a heredoc around it (``apply_patch <<'EOF'``) and lines
it does not know. ``observe(compressor, ctx, data, response, failures_so_far)`` is the
heuristic rule for the ``apply_patch`` tool: files modified (a moved file under its new
name), what was created, edited, deleted, the symbols and the changed line, in the same
facts an Edit or Write observation has (``Symbols:``, ``Change:``), so summaries merge
edits the same way whichever agent made them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from claude_mem.compress import extract
from claude_mem.text import one_line

LIST_LIMIT = 12


@dataclass
class FilePatch:
    path: str
    action: str  # "add", "update" or "delete"
    moved_to: str = ""
    removed: list = field(default_factory=list)
    added: list = field(default_factory=list)


def parse(text: str) -> list[FilePatch]:
    files: list[FilePatch] = []
    current = None
    for line in str(text or "").splitlines():
        marker = line.strip()
        for prefix, action in (("*** Add File:", "add"), ("*** Update File:", "update"),
                               ("*** Delete File:", "delete")):
            if marker.startswith(prefix):
                current = FilePatch(marker[len(prefix):].strip(), action)
                files.append(current)
                break
        else:
            if current is None or marker in ("*** End Patch", "*** End of File"):
                continue
            if marker.startswith("*** Move to:"):
                current.moved_to = marker[len("*** Move to:"):].strip()
            elif line.startswith("+"):
                current.added.append(line[1:])
            elif line.startswith("-"):
                current.removed.append(line[1:])
    return [f for f in files if f.path]


def _code(text: str, limit: int) -> str:
    return "`" + one_line(text, limit).replace("`", "'") + "`"


def observe(compressor, ctx, data, response, failures_so_far):
    """The observation for one apply_patch call (see the module docstring)."""
    text = ""
    for key in ("command", "input", "patch"):
        if isinstance(data.get(key), str) and "***" in data[key]:
            text = data[key]
            break
    patches = parse(text)
    if not patches:
        return None
    facts: list[str] = []
    modified: list[str] = []
    names: list[str] = []
    titles: list[str] = []
    created = False
    for patch in patches:
        path = compressor.rel(patch.moved_to or patch.path, ctx)
        modified.append(path)
        old, new = "\n".join(patch.removed), "\n".join(patch.added)
        defined = extract.symbols(new, path)
        names += [n for n in defined if n not in names]
        if patch.action == "add":
            created = True
            titles.append(f"Created {path}" + (": " + ", ".join(defined[:5]) if defined else ""))
            facts.append(f"Created {path} ({len(patch.added)} lines)")
        elif patch.action == "delete":
            titles.append(f"Deleted {path}")
            facts.append(f"Deleted {path}")
        else:
            before, after = extract.changed_line(old, new)
            moved = f" (moved from {compressor.rel(patch.path, ctx)})" if patch.moved_to else ""
            if before:
                facts.append(f"Change: {_code(before, 70)} → {_code(after, 70)}")
            title = f"Edited {path}{moved}"
            if defined:
                title += ": " + ", ".join(defined[:5])
            elif before and len(patches) == 1:
                title += f": {_code(before, 50)} → {_code(after, 50)}"
            titles.append(title)
        facts += ["- " + one_line(l.strip(), 160) for l in patch.removed[:3] if l.strip()]
        facts += ["+ " + one_line(l.strip(), 160) for l in patch.added[:3] if l.strip()]
    if names:
        facts.insert(0, "Symbols: " + ", ".join(names[:LIST_LIMIT]))
    title = titles[0] if len(titles) == 1 else (
        f"Patched {len(modified)} files: " + ", ".join(modified[:5]) + ("…" if len(modified) > 5 else ""))
    kind = compressor._change_type(ctx, modified[0], failures_so_far)
    concepts = ("edit", "patch", "created") if created and len(patches) == 1 else ("edit", "patch")
    return dict(type=kind, title=one_line(title, 200),
                subtitle=f"{len(patches)} file{'s' if len(patches) != 1 else ''} patched",
                facts=tuple(dict.fromkeys(facts)), files_modified=tuple(dict.fromkeys(modified)),
                concepts=concepts)

