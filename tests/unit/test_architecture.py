"""The run lifecycle's shape: no import cycles through it, and no chat syntax in it."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"


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


MAX_FUNCTION_LINES = 60
MAX_CLASS_LINES = 250


def _too_long(limit: int, kinds: tuple[type[ast.AST], ...]) -> list[str]:
    """Functions or classes of ``bot/`` longer than ``limit`` lines, decorators excluded."""
    found = []
    for path in sorted(BOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, kinds):
                assert isinstance(node, ast.stmt) and node.end_lineno is not None
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    name = getattr(node, "name", "?")
                    found.append(f"{path.relative_to(BOT.parent)}:{node.lineno} {name} ({length})")
    return found


def test_no_function_is_longer_than_a_screen() -> None:
    assert _too_long(MAX_FUNCTION_LINES, (ast.FunctionDef, ast.AsyncFunctionDef)) == []


def test_no_class_is_longer_than_a_few_screens() -> None:
    assert _too_long(MAX_CLASS_LINES, (ast.ClassDef,)) == []


ACCESS_CHECKS = {"is_admin", "can_run", "decide_run", "can_approve", "can_control", "owns"}


def test_listeners_leave_authorization_to_guards_and_the_domain() -> None:
    for path in (BOT / "slack" / "listeners").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "bot.access":
                called = {alias.name for alias in node.names} & ACCESS_CHECKS
                assert not called, f"{path.name} checks access by hand: {sorted(called)}"
