"""The package's import graph (issue 12): data flows one way, so imports do too.

Every module of ``elicbench`` is parsed with ``ast``; an import counts wherever it stands (module
level, inside a function, under ``if``). ``from . import x`` is an import of the submodule ``x``
when there is one, else of the package. Checked:

(a) no cycles;
(b) no upward imports along the pipeline dataset -> jobs -> codec -> metrics -> results -> analysis
    -> report/plot: a module imports from its own layer, the layers before it and the foundation;
    the application modules (cli and what drives a run: runner, worker, check, ...) may import every
    layer and no layer imports them;
(c) analysis and report/plot read run directories: they import no dataset, job or codec module.
"""
from __future__ import annotations

import ast
from pathlib import Path

import elicbench

PACKAGE = Path(elicbench.__file__).resolve().parent

#: Imported by any layer; imports nothing but the foundation.
FOUNDATION = ("elicbench", "elicbench.errors", "elicbench.registry", "elicbench.tfenv")
#: The pipeline, in the order data flows through it.
LAYERS = (
    ("dataset", ("elicbench.datasets",)),
    ("jobs", ("elicbench.jobs",)),
    ("codec", ("elicbench.codecs",)),
    ("metrics", ("elicbench.metrics",)),
    ("results", ("elicbench.results", "elicbench.cropfiles", "elicbench.manifest", "elicbench.rundir")),
    ("analysis", ("elicbench.analysis",)),
    ("report/plot", ("elicbench.report",)),
)
#: What drives the pipeline: the command line, running jobs (in the parent and in workers), checking.
APPLICATION = ("elicbench.cli", "elicbench.runner", "elicbench.worker", "elicbench.ratematch", "elicbench.crops",
               "elicbench.check", "elicbench.listing", "elicbench.distributed",
               # Training drives the ELIC model as a run drives codecs: it measures (metrics) and
               # records the machine (manifest), and nothing of the benchmark imports it.
               "elicbench.codecs.elic.train", "elicbench.codecs.elic.trainlog")
#: Layers that read run directories only (besides the foundation and their own layer).
READERS = {"analysis": {"metrics", "results", "analysis"}, "report/plot": {"metrics", "results", "analysis", "report/plot"}}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module of the package that ``name`` (a module, or a name inside one) belongs to."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _package_of(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def _imported_names(node: ast.AST, package: str) -> list[str] | None:
    """The dotted names an import statement imports (None if ``node`` is no import)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return None
    if node.level:
        base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
        base = f"{base}.{node.module}" if node.module else base
    else:
        base = node.module or ""
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


def _owners(names: list[str], module: str) -> set[str]:
    return {owner for owner in map(_owner, names) if owner and owner != module}


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names = _imported_names(node, _package_of(module))
        if names is not None:
            found |= _owners(names, module)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def layer_of(module: str) -> str:
    if module in FOUNDATION:
        return "foundation"
    if module in APPLICATION:
        return "application"
    for name, prefixes in LAYERS:
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return name
    raise AssertionError(f"{module} is in no layer: add it to tests/test_architecture.py")


ORDER = {name: i for i, (name, _) in enumerate(LAYERS)}


def test_every_module_has_a_layer():
    assert {m: layer_of(m) for m in MODULES}
    assert "elicbench.report.visual" in GRAPH and "elicbench.codecs.elic.model" in GRAPH


def test_the_parser_sees_imports_inside_functions_and_relative_ones():
    # report/build.py imports .plot at module level; cli imports its commands inside functions.
    assert "elicbench.report.plot" in GRAPH["elicbench.report.build"]
    assert {"elicbench.runner", "elicbench.report", "elicbench.check"} <= GRAPH["elicbench.cli"]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    cycles = _cycles(GRAPH)
    shown = ["  " + " <-> ".join(c) + ": " + "; ".join(f"{a} -> {b}" for a in c for b in sorted(GRAPH[a]) if b in c)
             for c in cycles]
    assert not cycles, "import cycles:\n" + "\n".join(shown)


def test_no_upward_imports():
    wrong = []
    for a, targets in GRAPH.items():
        la = layer_of(a)
        for b in sorted(targets):
            lb = layer_of(b)
            if la == "application" or lb == "foundation":
                continue
            if la == "foundation" or lb == "application" or ORDER[lb] > ORDER[la]:
                wrong.append(f"{a} ({la}) imports {b} ({lb})")
            elif la in READERS and lb not in READERS[la]:
                wrong.append(f"{a} ({la}) imports {b} ({lb}): it reads run directories only")
    assert not wrong, "imports against the flow dataset -> jobs -> codec -> metrics -> results -> analysis -> " \
                      "report/plot:\n" + "\n".join(wrong)


#: The modules that import TensorFlow when they are imported (ELIC's model, issue 12): TF stands at
#: their top, as in tensorflow-compression's models. Everything else imports them inside the
#: functions that code or train, so that ``list``, ``report`` and ``plot`` never load TF.
TENSORFLOW_AT_IMPORT = {f"elicbench.codecs.elic.{name}" for name in
                        ("layers", "transforms", "checkerboard", "entropy", "exact", "model", "coding")}


def _top_level_imports(module: str) -> tuple[set[str], bool]:
    """(package modules imported by module-level statements, whether TF is imported or
    ``import_tf()`` called at module level)."""
    path = MODULES[module]
    found, tensorflow = set(), False
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        names = _imported_names(node, _package_of(module))
        if names is None:
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                tensorflow |= any(getattr(c.func, "id", None) == "import_tf"
                                  for c in ast.walk(node) if isinstance(c, ast.Call))
            continue
        tensorflow |= any(n.split(".")[0] in ("tensorflow", "tensorflow_compression") for n in names)
        found |= _owners(names, module)
    return found, tensorflow


def test_tensorflow_is_imported_only_by_the_modules_that_code_or_train():
    top = {m: _top_level_imports(m) for m in MODULES}
    loads_tf = {m for m, (_, tf) in top.items() if tf}
    changed = True
    while changed:  # importing a module that loads TF at import loads it too
        more = {m for m, (imports, _) in top.items() if imports & loads_tf} - loads_tf
        loads_tf |= more
        changed = bool(more)
    assert loads_tf == TENSORFLOW_AT_IMPORT
    assert "elicbench.codecs.elic.model" in GRAPH["elicbench.codecs.elic.export"]  # imported, inside a function
