"""The run lifecycle's shape: no import cycles through it, and no chat syntax in it."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"


def _module(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in BOT.rglob("*.py")}


def _imports(name: str, path: Path) -> set[str]:
    """Every bot module ``name`` imports, under TYPE_CHECKING and inside functions too."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


def _reaches(start: str, graph: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    return seen


def test_no_import_cycle_through_the_run_lifecycle() -> None:
    graph = {name: _imports(name, path) for name, path in MODULES.items()}
    domain = [m for m in MODULES if m.startswith("bot.runs") or m in ("bot.kinds", "bot.jobs")]
    cycles = [m for m in domain if m in _reaches(m, graph)]
    assert cycles == []


def test_the_run_lifecycle_leaves_mentions_to_the_chat_layer() -> None:
    for path in (BOT / "runs").glob("*.py"):
        assert "<@" not in path.read_text(), path.name
