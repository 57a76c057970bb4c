"""The service's layering, read from the source: the service never imports eval/, no import cycles
inside service/, the CLI uses service-layer functions rather than the API's, and the console
script still offers every command."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from tests.conftest import REPO

SERVICE = REPO / "service"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions (lazy imports count too)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            for alias in node.names:  # `from service.routers import admin` imports a module
                candidate = f"{node.module}.{alias.name}"
                if (REPO / Path(*candidate.split("."))).with_suffix(".py").exists():
                    out.add(candidate)
    return out


def _service_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in SERVICE.rglob("*.py")}
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def test_no_service_module_imports_eval():
    offenders = {
        _module_name(p): sorted(m for m in _imports(p) if m == "eval" or m.startswith("eval."))
        for p in SERVICE.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_import_cycles_in_the_service():
    graph = _service_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep) :] + [dep] if dep in path else [node, dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_cli_uses_service_layer_functions_not_the_api():
    imports = _imports(SERVICE / "cli.py")
    assert not {m for m in imports if m.startswith(("service.routers", "service.deps"))}
    tree = ast.parse((SERVICE / "cli.py").read_text())
    from_api = {
        a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "service.api" for a in n.names
    }
    assert from_api <= {"create_app"}  # `serve` runs the app; nothing else comes from the API module
    assert {"service.validation", "service.references"} <= imports


def test_routers_depend_on_shared_modules_not_on_each_other_or_the_app():
    graph = _service_graph()
    for name, deps in graph.items():
        if name.startswith("service.routers."):
            assert not {d for d in deps if d.startswith("service.routers.") or d == "service.api"}, name


def test_console_script_offers_every_command_in_order():
    import argparse

    from eval.commands import register
    from service.cli import build_parser

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"minutes-qa": "eval.cli:main"}
    parser = build_parser([register])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    service_commands = ["index", "ask", "search", "serve", "alerts", "fetch"]
    assert list(sub.choices) == [*service_commands, "eval", "train", "train-encoder"]
    # the service's own parser has the service's commands (and fetch, an indexer command) only
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == service_commands
