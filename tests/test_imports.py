"""The package's import graph, read from the source (every import, also inside functions): one
direction, hub_export → zoo → recipes, zoo's units in layers (LAYERS), and no cycle anywhere."""
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("recipes", "zoo", "hub_export")

# The units of the code in layers, lowest first. A module imports only from its own unit or from a lower rank:
# never from a higher one, nor from another unit of its own rank; at module level or inside a function alike.
# A unit is a package (all its modules) or a module; where a package is split, its lower module is a unit of its
# own (zoo.presets.store, zoo.train.run_directory) and the package's other modules form the higher one. The
# package `zoo` itself is the unit of zoo/__init__.py only: each of its submodules belongs to a unit named here.
LAYERS = (
    ("recipes",),  # pure modelling: networks, losses, train_steps, latents, capabilities, the recipe registry
    # leaf helpers, importing nothing of zoo: UserError and interrupts; lazy attributes and the deprecated flat
    # module names; where a number came from (command, machine); progress lines; per-problem Adam on latent codes
    ("zoo.errors", "zoo._lazy", "zoo.provenance", "zoo.progress", "zoo.latent_search"),
    ("zoo.files", "zoo.checks"),  # JSON, atomic outputs, locks, sha256, caches; checks of values users pass
    ("zoo.images", "zoo.plots"),  # uint8 images, grids, PNG and GIF files; matplotlib figures
    # datasets as tf.data of images in [-1, 1] (+ labels), the triangles; metric definitions and the feature
    # networks they are computed on (the Fashion-MNIST evaluator network and its shipped weights, Inception)
    ("zoo.data", "zoo.metrics"),
    ("zoo.presets.store",),  # a preset on disk: its layout, listing, cards, sha256-verified configs and weights
    ("zoo.train.run_directory",),  # a run on disk: run.json, train_state.json, checkpoints, logs; recipe_from_run
    # any generator (run, preset, .keras, SavedModel) as seeded sample functions, grids and PNG folders;
    # projection into a generator (g.project)
    ("zoo.sampling", "zoo.projection"),
    # evaluation protocols: scoring (gan-zoo evaluate), the metric registry, memorization, image-to-image tasks,
    # training the evaluator
    ("zoo.eval",),
    # training runs: config, strategy, build (from settings or a preset), callbacks (samples, checkpoints,
    # periodic FID), loop, launch, autotune, perceptual networks
    ("zoo.train",),
    # tasks, one module each (sampling, translation, super-resolution): preview grids, evaluation rows and
    # baselines, card text and headlines, export signatures, demo handlers; the Task object and its registry
    ("zoo.tasks",),
    # pretrained (zoo.load's Generator) and packaging (presets and cards from runs); loss studies
    ("zoo.presets", "zoo.study"),
    ("zoo", "zoo.cli"),  # the package's façade (zoo.load, zoo.card, zoo.list_models, ...); `gan-zoo`
    ("hub_export",),  # artifacts for other runtimes, the server and the demo; gan-zoo export / serve / demo
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def modules():
    """{dotted module name: path} of every module of the packages."""
    found = {}
    for package in PACKAGES:
        for directory, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if name.endswith(".py"):
                    dotted = os.path.relpath(os.path.join(directory, name), ROOT)[:-3].replace(os.sep, ".")
                    found[dotted.removesuffix(".__init__")] = os.path.join(directory, name)
    return found


def import_sites(path, module, known):
    """(line, module imported) of every import statement anywhere in `path` (module `module`): at module level,
    inside functions, methods and conditionals; relative imports resolved; `from package import module` counts as
    the module, `import a.b.c` and `from a.b import name` as the nearest project module named."""
    package = module if os.path.basename(path) == "__init__.py" else module.rpartition(".")[0]
    sites = []
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - (node.level - 1)] + ([node.module] if node.module else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                sites.append((node.lineno, name))
    return sorted(set(sites))


def import_graph():
    """{module: the project modules it imports anywhere (import_sites)}."""
    known = modules()
    return {name: {target for _, target in import_sites(path, name, known)} - {name} for name, path in known.items()}


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_imports_go_one_way_hub_export_to_zoo_to_recipes():
    rank = {"recipes": 0, "zoo": 1, "hub_export": 2}
    upward = [(module, target) for module, targets in import_graph().items() for target in targets
              if rank[target.split(".")[0]] > rank[module.split(".")[0]]]
    assert upward == []


def unit_of(module):
    """The unit of LAYERS `module` belongs to: the nearest of itself and the packages above it that is a unit
    (the package `zoo` only for itself); None when there is none."""
    name = module
    while name:
        if name in RANK and (name == module or name != "zoo"):
            return name
        name = name.rpartition(".")[0]
    return None


def upward_imports(found=None):
    """Every import against LAYERS, as "path:line unit (rank) imports module of unit (rank)"."""
    found = found or modules()
    upward = []
    for module, path in sorted(found.items()):
        source = unit_of(module)
        for line, target in import_sites(path, module, found):
            unit = unit_of(target)
            if unit != source and RANK[unit] >= RANK[source]:
                upward.append(f"{os.path.relpath(path, ROOT)}:{line} {source} (rank {RANK[source]}) imports {target} "
                              f"of {unit} (rank {RANK[unit]})")
    return upward


def test_every_module_is_in_a_layer():
    units = [unit for units in LAYERS for unit in units]
    assert len(units) == len(set(units))
    known = modules()
    assert [module for module in known if unit_of(module) is None] == []
    assert [unit for unit in units if unit not in known] == []  # no stale names


def test_imports_never_go_up_the_layers():
    upward = upward_imports()
    assert upward == [], "imports against the layers of tests/test_imports.py LAYERS:\n" + "\n".join(upward)


def test_the_layer_check_finds_upward_imports(tmp_path):
    """An import up the layers (also relative, inside a method) or sideways into another unit of the same rank is
    reported with its file and line; one down, or within a unit, is not."""
    sources = {"zoo/files.py": "", "zoo/eval/__init__.py": "", "zoo/eval/scoring.py": "", "zoo/metrics/__init__.py": "",
               "zoo/metrics/frechet.py": "from zoo.files import read_json\nfrom . import kernel\n",  # down; own unit
               "zoo/metrics/kernel.py": "class K:\n    def f(self):\n        from ..eval import scoring\n",  # up
               "zoo/data/__init__.py": "def f():\n    import zoo.metrics.kernel\n"}  # sideways: same rank
    found = {}
    for name, text in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
        found[name[:-3].replace("/", ".").removesuffix(".__init__")] = str(tmp_path / name)
    data, kernel = (os.path.relpath(found[module], ROOT) for module in ("zoo.data", "zoo.metrics.kernel"))
    metrics, evaluation = RANK["zoo.metrics"], RANK["zoo.eval"]
    assert upward_imports(found) == [
        f"{data}:2 zoo.data (rank {metrics}) imports zoo.metrics.kernel of zoo.metrics (rank {metrics})",
        f"{kernel}:3 zoo.metrics (rank {metrics}) imports zoo.eval.scoring of zoo.eval (rank {evaluation})"]


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_module_says_what_it_owns():
    undocumented = [name for name, path in modules().items() if not ast.get_docstring(ast.parse(open(path).read()))]
    assert undocumented == []


def test_old_flat_module_names_still_import_with_a_deprecation_warning():
    import importlib
    import sys

    import pytest

    import zoo
    from zoo import _lazy
    from zoo.presets import store
    from zoo.train.config import TrainConfig

    def forget(old):  # a fresh import each time: the alias warns when it is made
        sys.modules.pop(old, None)
        zoo.__dict__.pop(old.split(".")[1], None)

    for old, homes in _lazy.MOVED.items():
        forget(old)
        with pytest.warns(DeprecationWarning, match=f"{old} is deprecated: import from {homes[0]}"):
            importlib.import_module(old)
    forget("zoo.training")
    forget("zoo.registry")
    with pytest.warns(DeprecationWarning):
        from zoo.training import TrainConfig as old_train_config
        from zoo import registry
    assert old_train_config is TrainConfig and registry.list_models() == store.list_models()
    with pytest.raises(AttributeError, match="zoo.training.*has no attribute 'nothing'"):
        importlib.import_module("zoo.training").nothing
