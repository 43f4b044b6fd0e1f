"""The package layout rules: no product file looks like a test, and the advisor's modules import no circle."""
from __future__ import annotations

import ast
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("advisor", "exporter", "rules")


@pytest.mark.parametrize("folder", PRODUCT)
def test_no_product_file_is_named_like_a_test(folder):
    # pytest would collect such a file (and its test_* functions) when pointed at the folder.
    found = [str(p.relative_to(REPO)) for p in (REPO / folder).rglob("*.py")
             if fnmatch(p.name, "test_*.py") or fnmatch(p.name, "*_test.py")]
    assert not found


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted((REPO / "advisor").rglob("*.py")):
        parts = ("perfadvisor", "advisor", *p.relative_to(REPO / "advisor").with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Advisor modules `name` imports, at import time or inside functions (a lazy import is still a circle)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for t in targets:
            # importing a.b.c runs a.b's __init__ too; the importer's own packages are already running
            while t:
                if t in known and not name.startswith(t + ".") and t != name:
                    out.add(t)
                t = t.rpartition(".")[0]
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (found := visit(m)):
                return found
        state[n] = 2
        stack.pop()
        return None
    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_advisor_modules_import_no_circle():
    mods = _modules()
    graph = {name: _imports(name, path, set(mods)) for name, path in mods.items()}
    assert graph["perfadvisor.advisor.cli"] >= {"perfadvisor.advisor.cli.run", "perfadvisor.advisor.cli.query"}
    cycle = _cycle(graph)
    assert cycle is None, " → ".join(cycle)


def test_every_advisor_module_imports_in_a_fresh_interpreter():
    names = sorted(_modules())
    code = "import importlib, sys\nfor n in sys.argv[1:]:\n    importlib.import_module(n)\n"
    r = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_only_the_parse_module_imports_the_promql_parser():
    importers = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(m.split(".")[0] == "promql_parser" for m in mods):
                importers.append(name)
    assert importers == ["perfadvisor.advisor.promql.parse"]
