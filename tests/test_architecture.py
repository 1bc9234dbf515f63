"""The house rules the layout promises (docs/architecture.md, "The rooms"), checked on the source.

- No import cycle between claude-mem's modules, counting imports inside functions too
  (a lazy import is still an arrow), and modules named in a string (``"claude_mem.x"`` or
  ``"claude_mem.x:attr"``): the registries loaded by name (``cli.COMMANDS``,
  ``compress.llm.BACKENDS``, the store's lazy ``_EXPORTS``) are arrows too; a module name
  after ``"-m"`` in a command line starts a process and is not. A package's
  ``__init__`` is not implied by importing one of its submodules, as tools like
  import-linter also count it.
- No SQL outside the store package: every statement against our database lives in
  ``claude_mem/store/``. The one exception is an importer reading another program's file
  (the original claude-mem's database), listed in ``FOREIGN_SQL``.
- The hook-event table, the event parsers and the worker's handlers agree.
- The rooms ``docs/architecture.md`` names exist (a package row's backticked lowercase
  names are its modules).
- No module over ``MAX_LINES`` lines unless its docstring says why one concern needs them
  ("Long because …", "Longer than most modules …", "Why one long module …"); ``worker.py``
  (the lifecycle; its parts are ``handlers``, ``drain``, ``watchdogs``) under 350.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "claude_mem"
# Files whose SQL is not about our database: they read another program's file.
FOREIGN_SQL = {"claude_mem/importers/claude_mem_db.py"}
SQL = re.compile(r"\b(SELECT\b.*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|"
                 r"DELETE\s+FROM|CREATE\s+(TABLE|INDEX|UNIQUE|VIRTUAL|TRIGGER)|PRAGMA\s+\w+)\b",
                 re.S)


# A string that names one of our modules, maybe with an attribute: a registry entry.
BY_NAME = re.compile(r"^(?P<module>[A-Za-z_]\w*(?:\.\w+)+)(?::\w+)?$")


MAX_LINES = 600
SAYS_WHY_LONG = re.compile(r"\b(long because|longer than most modules|why one long module)\b", re.I)


def _modules(package: Path = PACKAGE) -> dict[str, Path]:
    found = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _commands_run(tree) -> set[int]:
    """The strings after ``"-m"`` in a literal argv: a process started, not an import."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple)):
            for before, item in zip(node.elts, node.elts[1:]):
                if isinstance(before, ast.Constant) and before.value == "-m":
                    found.add(id(item))
    return found


def _imports(name: str, path: Path, modules) -> set[str]:
    is_package = path.name == "__init__.py"
    targets = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    started = _commands_run(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in modules else base)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in started:
            named = BY_NAME.match(node.value)
            if named and named["module"] in modules:
                targets.add(named["module"])  # loaded by name: importlib, __import__
    return {t for t in targets if t in modules and t != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def _graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    modules = _modules(package)
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_the_registries_loaded_by_name_are_arrows():
    graph = _graph()
    assert "claude_mem.cli.memory" in graph["claude_mem.cli"]             # cli.COMMANDS
    assert "claude_mem.compress.agent" in graph["claude_mem.compress.llm"]  # BACKENDS
    assert "claude_mem.store.store" in graph["claude_mem.store"]           # _EXPORTS


def test_a_cycle_through_a_registry_loaded_by_name_is_found(tmp_path):
    """The hidden cycle of the old cli: a registry names a module that imports it back."""
    package = tmp_path / "app"
    (package / "commands").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "commands" / "__init__.py").write_text(
        'import importlib\n\n'
        'COMMANDS = {"search": "app.commands.search:search_cmd"}\n\n\n'
        'def load(name):\n'
        '    module, attr = COMMANDS[name].split(":")\n'
        '    return getattr(importlib.import_module(module), attr)\n\n\n'
        'def dump(value):\n'
        '    print(value)\n')
    (package / "commands" / "search.py").write_text(
        "from app.commands import dump\n\n\ndef search_cmd():\n    dump([])\n")
    assert _cycles(_graph(package)) == [["app.commands", "app.commands.search"]]
    # Without the registry's string the same files have no cycle: the arrow is that string.
    (package / "commands" / "__init__.py").write_text("def dump(value):\n    print(value)\n")
    assert _cycles(_graph(package)) == []


def _strings(tree):
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_sql_outside_the_store_package():
    offenders = []
    for name, path in _modules().items():
        rel = str(path.relative_to(SRC))
        if name == "claude_mem.store" or name.startswith("claude_mem.store.") \
                or rel in FOREIGN_SQL:
            continue
        for line, text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            if SQL.search(text):
                offenders.append(f"{rel}:{line}: {text.strip()[:60]!r}")
    assert offenders == []


def test_the_hook_event_table_parsers_and_handlers_agree():
    from claude_mem import events, hooks, install
    from claude_mem.hook_events import BY_EVENT, HOOK_EVENTS, TABLE
    from claude_mem.handlers import Handlers

    assert hooks.HOOK_EVENTS is HOOK_EVENTS
    assert set(events.PARSERS) == set(BY_EVENT)
    payload = '{"session_id": "s", "cwd": "/w"}'
    kinds = {type(events.parse_event(row.event, payload)) for row in TABLE}
    assert kinds == set(Handlers.HANDLERS)
    assert len({row.hook for row in TABLE}) == len(TABLE)
    assert all(install.hook_command(row.hook).endswith(row.hook) for row in TABLE)


def test_long_modules_say_why_and_the_worker_keeps_to_its_lifecycle():
    unexplained = []
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MAX_LINES and not SAYS_WHY_LONG.search(ast.get_docstring(ast.parse(text)) or ""):
            unexplained.append(f"{name}: {lines} lines")
    assert unexplained == []
    assert len((PACKAGE / "worker.py").read_text(encoding="utf-8").splitlines()) < 350


def _room_exists(name: str) -> bool:
    path = PACKAGE / name.strip("/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_the_rooms_the_architecture_page_names_exist():
    page = (SRC.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = page[page.index("| room | its one job |"):].split("\n\n")[0]
    missing, named = [], 0
    for row in table.splitlines()[2:]:
        room, job = row.strip("|").split("|", 1)
        rooms = re.findall(r"`([^`]+)`", room)
        for name in rooms:
            named += 1
            if not _room_exists(name):
                missing.append(name)
        if len(rooms) == 1 and rooms[0].endswith("/"):  # a package: its modules by name
            for member in re.findall(r"`([a-z_]+)`", job):
                named += 1
                if not _room_exists(f"{rooms[0]}{member}"):
                    missing.append(f"{rooms[0]}{member}")
    assert named > 40 and missing == []
