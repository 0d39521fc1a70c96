"""The package's import graph, read from the source (every import, also inside functions): one
direction, hub_export → zoo → recipes, and no cycle anywhere."""
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("recipes", "zoo", "hub_export")


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


def imported(path, known):
    """The project modules `path` imports: `from package import module` counts as the module."""
    targets = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                     for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                targets.add(name)
    return targets


def import_graph():
    known = modules()
    return {name: imported(path, known) - {name} for name, path in known.items()}


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
