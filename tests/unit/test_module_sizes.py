"""Module and class sizes in shared/, emulation/ and bench/ (printed, and held to ~300 and ~150 lines),
and no import circle anywhere in shared/, emulation/ or bench/."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINTED = ("shared", "emulation", "bench")
HELD = PRINTED
MODULE_LINES = 300
CLASS_LINES = 150


@dataclass(frozen=True)
class Module:
    name: str  # dotted, as imported: emulation.arm.store; a package is its __init__: emulation.arm
    path: Path
    tree: ast.Module

    @property
    def lines(self) -> int:
        return len(self.path.read_text().splitlines())

    @property
    def package(self) -> str:
        """The package a relative import starts from."""
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


def modules(folder: str) -> list[Module]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append(Module(name, path, ast.parse(path.read_text(), str(path))))
    return found


def classes(module: Module) -> list[tuple[str, int]]:
    """Each class (nested ones too) and its lines, decorators included."""
    out = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ClassDef):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            out.append((f"{module.name}.{node.name}", (node.end_lineno or node.lineno) - first + 1))
    return out


def imported(module: Module, known: set[str]) -> set[str]:
    """The modules of `known` that `module` imports, wherever the import stands (in a function, under TYPE_CHECKING)."""
    out: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.package.split(".")
                anchor = ".".join(package[: len(package) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `from pkg import name`: pkg.name if a module, else pkg
                target = target.rpartition(".")[0]
            if target and target != module.name:
                out.add(target)
    return out


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def import_graph(folders: tuple[str, ...]) -> dict[str, set[str]]:
    mods = [m for folder in folders for m in modules(folder)]
    known = {m.name for m in mods}
    return {m.name: imported(m, known) for m in mods}


@pytest.mark.parametrize("folder", PRINTED)
def test_the_largest_modules_and_classes_are_printed_and_held_to_the_limits(folder: str, capsys: pytest.CaptureFixture[str]) -> None:
    mods = modules(folder)
    sizes = sorted(((m.lines, m.name) for m in mods), reverse=True)
    class_sizes = sorted(((lines, name) for m in mods for name, lines in classes(m)), reverse=True)
    with capsys.disabled():
        print(f"\n{folder}/: {len(mods)} modules; largest modules (lines): "
              + ", ".join(f"{name} {lines}" for lines, name in sizes[:8]))
        print(f"{folder}/: largest classes (lines): " + ", ".join(f"{name} {lines}" for lines, name in class_sizes[:8]))
    assert mods and class_sizes, f"nothing found under {folder}/"
    if folder in HELD:
        assert [f"{n} ({lines})" for lines, n in sizes if lines > MODULE_LINES] == []
        assert [f"{n} ({lines})" for lines, n in class_sizes if lines > CLASS_LINES] == []


def test_no_import_circle_among_the_modules_of_shared_emulation_and_bench() -> None:
    graph = import_graph(PRINTED)
    assert graph["emulation.arm.service"] >= {"emulation.arm.estate", "emulation.arm.stages", "emulation.arm.handlers"}
    assert "bench.lab" in graph["bench.scenarios"]  # relative imports are followed
    assert "shared.domain.decision" in graph["shared.domain.appliance"]
    assert circles(graph) == []


def test_the_circle_finder_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_emulator_imports_nothing_of_shared() -> None:
    for module in modules("emulation"):
        for node in ast.walk(module.tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            assert not any(n == "shared" or n.startswith("shared.") for n in names), module.name
