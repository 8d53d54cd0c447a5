"""The layers, read from the source (each module's imports parsed, nothing imported); docs/architecture.md
draws them.

    cli/, server/  ->  Engine (engine/facade.py)  ->  engine/bootstrap.py  ->  indexer/
                                 |                          |                    |
                                 v                          v                    v
                     engine internals (search, store, vectors, encoders, writer ...)
                                              |
                                              v
                          media/  ->  engine/errors.py, engine/records.py (leaves)
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# The installed package's folders (pyproject's package-dir), plus the benchmarks, which import the package.
FOLDERS = {
    **{name: folder for name, folder in PYPROJECT["tool"]["setuptools"]["package-dir"].items()},
    "bench": "bench",
}
MAX_LINES = 400
SIZE_CHECKED = ("engine", "indexer", "media", "cli", "server")

# Engine modules that only import the standard library and each other: media/ may use them.
LEAVES = {"anyseek.engine.errors", "anyseek.engine.json_fields", "anyseek.engine.records", "anyseek.engine.wire"}
# What the front ends (cli/, server/) may take from the engine besides the facade (`anyseek.engine`: Engine): the
# records and errors that cross the boundary (and the JSON form they are declared with), settings (paths,
# defaults), the search request the facade takes, the query syntax (a client splits a query before sending
# it), the job manager the server runs index jobs with, and the evaluation and training libraries that their
# commands front.
# Everything else (store, vectors, encoders, search internals, the writer, the bootstrap, the indexer) is
# below the facade.
FRONT_END_MAY_USE = {
    "anyseek.engine.errors",
    "anyseek.engine.records",
    "anyseek.engine.duplicates.records",  # the duplicate groups a front end shows, records like the others
    "anyseek.engine.settings",
    "anyseek.engine.request",
    "anyseek.engine.wire",
    "anyseek.engine.paths",  # the default index, for the CLI to find a server without the settings' imports
    "anyseek.engine.dates",
    "anyseek.engine.search.syntax",
    "anyseek.engine.jobs",
    "anyseek.engine.evaluation",
    "anyseek.engine.training",
    # the server keeps its token and discovery file in the index folder, under the index's owner-only rules
    "anyseek.engine.privacy",
}
# The one writer: store writes that change vectors are mirrored into the catalog only here.
WRITER = "anyseek.engine.writer"
VECTOR_WRITES = {"write_items", "write_records", "delete_items", "move_item", "copy_item", "replace_ocr"}


@dataclass(frozen=True, slots=True)
class Import:
    target: str
    line: int


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in FOLDERS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            parts = list(path.relative_to(REPO / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if "__pycache__" not in parts:
                found[".".join([package, *parts])] = path
    return found


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def _imports(name: str) -> list[Import]:
    """Every import of the package or the benchmarks, at any depth (in functions, under TYPE_CHECKING): an
    import deferred into a function is still a dependency."""
    out = []
    is_package = MODULES[name].name == "__init__.py"
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.Import):
            out += [Import(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                out.append(Import(submodule if submodule in MODULES else base, node.lineno))
    return [i for i in out if i.target.split(".")[0] in FOLDERS]


IMPORTS = {name: _imports(name) for name in MODULES}


def _owner(target: str) -> str:
    """The module an import names: itself, or the package whose attribute it is."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target


def _violations(modules, allowed) -> list[str]:
    return [
        f"{MODULES[name].relative_to(REPO)}:{imp.line} imports {imp.target}"
        for name in modules
        for imp in IMPORTS[name]
        if not allowed(name, imp.target)
    ]


def _under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_sources_were_found():
    assert {"anyseek.engine.facade", "anyseek.media.sniff", "anyseek.indexer.pipeline", "bench.quality"} <= set(MODULES)


def test_no_module_imports_another_in_a_loop_benchmarks_included():
    graph = {name: {_owner(i.target) for i in IMPORTS[name]} - {"", name} for name in MODULES}
    cycles = _cycles(graph)
    assert not cycles, "modules that import each other in a loop:\n" + "\n".join(", ".join(c) for c in cycles)


def test_the_engine_imports_the_indexer_only_in_its_bootstrap():
    engine = [n for n in MODULES if _under(n, "anyseek.engine") and n != "anyseek.engine.bootstrap"]
    wrong = _violations(engine, lambda _n, target: not _under(target, "anyseek.indexer"))
    assert not wrong


def test_media_imports_nothing_above_it_but_the_leaf_records_and_errors():
    media = [n for n in MODULES if _under(n, "anyseek.media")]
    wrong = _violations(media, lambda _n, target: _under(target, "anyseek.media") or target in LEAVES)
    assert not wrong
    leaves_that_import = _violations(LEAVES, lambda _n, target: target in LEAVES)
    assert not leaves_that_import


def test_front_ends_use_the_facade_and_the_records_not_what_lies_below():
    front = [n for n in MODULES if _under(n, "anyseek.cli", "anyseek.server")]

    def allowed(_name: str, target: str) -> bool:
        if _under(target, "anyseek.cli", "anyseek.server") or target in ("anyseek", "anyseek.engine"):
            return True
        return any(_under(target, module) for module in FRONT_END_MAY_USE)

    wrong = _violations(front, allowed)
    assert not wrong


def test_only_the_index_writer_mirrors_store_writes_into_the_vector_catalog():
    """catalog.apply after a store write, or a store write whose vector changes nobody mirrors, happens in
    engine/writer.py alone (the store's own modules call each other)."""
    found = []
    for name, tree in TREES.items():
        if name == WRITER or _under(name, "anyseek.engine.store") or name.startswith("bench."):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = ast.unparse(node.func.value)
                method = node.func.attr
                if (method == "apply" and owner.endswith("catalog")) or (
                    method in VECTOR_WRITES and owner.endswith("store")
                ):
                    found.append(f"{MODULES[name].relative_to(REPO)}:{node.lineno} calls {owner}.{method}")
    assert not found


@pytest.mark.parametrize("folder", SIZE_CHECKED)
def test_no_module_is_over_400_lines(folder):
    long = {
        str(path.relative_to(REPO)): lines
        for path in (REPO / folder).rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these by concern: {long}"


def test_every_package_folder_is_listed_for_packaging():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    packages = {n for n, p in MODULES.items() if p.name == "__init__.py" and not n.startswith("bench")}
    assert packages <= listed, f"add to pyproject's packages: {sorted(packages - listed)}"


def test_importing_anyseek_and_its_engine_loads_no_heavy_library():
    code = (
        "import sys, anyseek, anyseek.engine; "
        "print(sorted({'numpy', 'sqlalchemy', 'faiss', 'torch', 'PIL'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found
