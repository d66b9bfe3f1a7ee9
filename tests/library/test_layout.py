"""The package's layout (issue 13): imports flow one way, every module stands alone, files stay readable.

- The import graph of `minigpt`, read from the source with `ast` (module-level imports and the
  ones inside functions, relative imports resolved), has no cycle. A lazy import inside a
  function is still a dependency: it only hides a cycle from the interpreter, not from a reader.
- The two houses (issue 30): `minigpt`, the library, and `coursebook`, the course's tools, read
  together, have no cycle either, and nothing in the library imports the tools. The library
  works without the course's extras (matplotlib, ipywidgets) and the book's packages: the
  README's tour runs with them hidden, and asking for a plot says what to pip install.
- Every module imports on its own, in a fresh interpreter (`python -c "import minigpt.x"`), so no
  module works only because another one happened to be imported first.
- A module over MAX_LINES lines says why at its top: the first paragraph of its docstring names
  the reason (a sentence with "lines").
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "minigpt"
TOOLS = PACKAGE.parent / "coursebook"  # the other house, read as text: the library's tests never import it
MAX_LINES = 400


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules(root: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py")) if "assets" not in p.parts}


def imported_names(path: Path, name: str) -> set[str]:
    """Fully qualified names this module imports, anywhere in its body (functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from ..x import y, resolved against this module's package
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from pkg import name` imports the submodule pkg.name if there is one, else an attribute
            # of pkg: import_graph() resolves pkg.name to the nearest enclosing module
            found.update(prefix if alias.name == "*" else f"{prefix}.{alias.name}" for alias in node.names)
    return found


def import_graph(*roots: Path) -> dict[str, set[str]]:
    """module -> the modules of the packages at `roots` (default: minigpt) it imports (an import of
    a.b.c counts as one of a.b.c if that is a module, else of the nearest enclosing module;
    importing a module's own package __init__ implicitly, as Python does, is not an edge)."""
    modules = {name: path for root in roots or (PACKAGE,) for name, path in package_modules(root).items()}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in imported_names(path, name):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (depth-first search, colours white/grey/black)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


# ---- the checker checks itself on graphs whose answer is known ------------------------------------


def test_find_cycle_on_known_graphs():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"a"}}) == ["a", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}) is None  # a diamond is fine


def test_imports_are_resolved_relative_and_inside_functions(tmp_path):
    pkg = tmp_path / "minigpt"
    (pkg / "sub").mkdir(parents=True)
    source = (
        "from . import sibling\nfrom ..top import thing\ndef f():\n    from .other import g\n    import minigpt.x\n"
    )
    (pkg / "sub" / "mod.py").write_text(source)
    found = imported_names(pkg / "sub" / "mod.py", "minigpt.sub.mod")
    assert found == {"minigpt.sub.sibling", "minigpt.top.thing", "minigpt.sub.other.g", "minigpt.x"}
    (pkg / "sub" / "__init__.py").write_text("from .mod import f\n")
    for name in ("__init__.py", "top.py", "x.py", "sub/sibling.py", "sub/other.py"):
        (pkg / name).write_text("from . import x\n" if name == "top.py" else "")
    graph = import_graph(pkg)
    assert graph["minigpt.sub"] == {"minigpt.sub.mod"}  # the attribute f resolves to its module
    assert graph["minigpt.sub.mod"] == {"minigpt.sub.sibling", "minigpt.top", "minigpt.sub.other", "minigpt.x"}
    assert graph["minigpt.top"] == {"minigpt.x"}  # `from . import x` imports x, not the package's __init__


# ---- the package ------------------------------------------------------------------------------------


def test_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 20 and sum(map(len, graph.values())) > 40  # the whole package was read
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_two_houses_have_no_cycle_and_the_library_never_imports_the_tools():
    graph = import_graph(PACKAGE, TOOLS)
    tools = [m for m in graph if m.startswith("coursebook")]
    assert len(tools) > 20 and any(t.startswith("minigpt") for m in tools for t in graph[m])  # both were read
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
    # the imports as written, so a lazy `import coursebook...` inside a function counts too
    upward = sorted(
        f"{name} imports {imported}"
        for name, path in package_modules(PACKAGE).items()
        for imported in imported_names(path, name)
        if imported.split(".")[0] == "coursebook"
    )
    assert not upward, f"the library imports the course's tools: {upward}"


NO_EXTRAS = Path(__file__).resolve().parent / "no_course_extras.py"
PLOTTING = ("minigpt.viz", "minigpt.widgets")  # import only with the course extra; minigpt.design plots lazily
WITHOUT_EXTRAS = """
import importlib, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("no_course_extras", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))  # matplotlib, ipywidgets, ... now missing
import minigpt
from minigpt.design import design_summary, plot_design
for name in sys.argv[3:]:
    importlib.import_module(name)
for block in json.loads(sys.argv[2]):
    exec(compile(block, "README.md", "exec"), {})
report = {"summary": design_summary(minigpt.ModelConfig.from_preset("tiny"), tokens=10**6), "errors": []}
for ask in (lambda: importlib.import_module("minigpt.viz"), lambda: importlib.import_module("minigpt.widgets"),
            lambda: plot_design(minigpt.ModelConfig.from_preset("tiny"), tokens=10**6)):
    try:
        ask()
        report["errors"].append("no error")
    except ImportError as exc:
        report["errors"].append(str(exc))
report["imported"] = sorted(m for m in sys.modules if m.partition(".")[0] in ("matplotlib", "ipywidgets", "coursebook"))
print(json.dumps(report))
"""


def readme_python_blocks() -> list[tuple[str, str]]:
    """(code, printed output) of the python blocks of README.md's tour (as test_readme reads them)."""
    text = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    tour = text[text.index("## A short tour") :]
    tour = tour[: tour.index("\n## ", 1)]
    fences = re.findall(r"^```(\w*)\n(.*?)^```", tour, re.S | re.M)
    return [(code, out) for (lang, code), (_, out) in zip(fences, fences[1:], strict=False) if lang == "python"]


def test_the_library_works_without_the_course_extras(tmp_path):
    blocks = readme_python_blocks()
    assert len(blocks) >= 2
    modules = sorted(set(package_modules()) - set(PLOTTING))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRAS, str(NO_EXTRAS), json.dumps([c for c, _ in blocks]), *modules],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # the tour saves a model folder
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    printed, _, last = result.stdout.rstrip("\n").rpartition("\n")
    assert printed + "\n" == "".join(out for _, out in blocks)  # the tour printed what the README says
    report = json.loads(last)
    assert report["summary"].startswith("parameters ")  # the design's numbers need no plotting
    errors = report["errors"]
    assert len(errors) == 3 and all('pip install "minigpt[course]"' in e for e in errors), errors
    assert "matplotlib" in errors[0] and "ipywidgets" in errors[1], errors
    assert report["imported"] == [], f"imported although hidden: {report['imported']}"


@pytest.mark.parametrize("name", sorted(package_modules()))
def test_module_imports_alone(name):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-c", f"import {name}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=PACKAGE.parent,
        timeout=300,
    )
    if name in PLOTTING and result.returncode != 0:  # without the course extra: the error says what to install
        assert 'pip install "minigpt[course]"' in result.stderr, result.stderr[-3000:]
        return
    assert result.returncode == 0, f"import {name} failed alone:\n{result.stderr[-3000:]}"


def test_main_module_has_the_entry_point():
    tree = ast.parse((PACKAGE / "__main__.py").read_text(encoding="utf-8"))
    names = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert "main" in names  # the installed `minigpt` console script of older installs calls minigpt.__main__:main


def reason_for_length(path: Path) -> str | None:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    first = doc.split("\n\n")[0]
    return first if "lines" in first else None


@pytest.mark.parametrize("name", sorted(package_modules()))
def test_long_modules_say_why(name):
    path = package_modules()[name]
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if lines > MAX_LINES:
        assert reason_for_length(path), (
            f"{path.relative_to(PACKAGE.parent)} has {lines} lines (> {MAX_LINES}): split it, or say in the first "
            f"paragraph of its docstring why it is one file (a sentence with the word 'lines')."
        )


# ---- the command line: one module per subcommand --------------------------------------------------


def test_every_subcommand_is_a_module_of_minigpt_cli_with_main():
    from minigpt.cli import SUBCOMMANDS

    cli = PACKAGE / "cli"
    helpers = {"__init__", "common", "train_options"}  # train_options: the train subcommand's options and checks
    assert {p.stem for p in cli.glob("*.py")} - helpers == set(SUBCOMMANDS)
    for name in SUBCOMMANDS:
        tree = ast.parse((cli / f"{name}.py").read_text(encoding="utf-8"))
        assert any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body), (
            f"cli/{name}.py has no main()"
        )


def test_python_m_minigpt_lists_and_runs_every_subcommand():
    from minigpt.cli import SUBCOMMANDS

    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    top = subprocess.run(
        [sys.executable, "-m", "minigpt", "--help"], capture_output=True, text=True, env=env, timeout=300
    )
    assert top.returncode == 0 and top.stdout.startswith("usage: python -m minigpt {" + ",".join(SUBCOMMANDS) + "}")
    for name, help_ in SUBCOMMANDS.items():
        assert f"  {name:<8} {help_}" in top.stdout
        sub = subprocess.run(
            [sys.executable, "-m", "minigpt", name, "--help"], capture_output=True, text=True, env=env, timeout=300
        )
        assert sub.returncode == 0 and sub.stdout.startswith(f"usage: python -m minigpt {name}"), (name, sub.stderr)
    wrong = subprocess.run(
        [sys.executable, "-m", "minigpt", "trian"], capture_output=True, text=True, env=env, timeout=300
    )
    assert wrong.returncode == 2 and "unknown command 'trian'" in wrong.stderr
