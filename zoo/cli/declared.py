"""Names and defaults --help shows that slow modules define (the registered recipes, the metrics and which are
measured by default, the demo's port: TensorFlow; the server's limits: aiohttp), read from those modules' source
without importing them, so building the parser stays fast. tests/zoo/test_cli_startup.py checks each against
the imported module."""
import ast
import functools
import importlib.util
import operator
import os


def source_files(module):
    """The .py files of `module` (every one under it for a package), found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec.submodule_search_locations is None:
        return [spec.origin]
    return sorted(os.path.join(directory, name) for root in spec.submodule_search_locations
                  for directory, _, names in os.walk(root) for name in names if name.endswith(".py"))


@functools.lru_cache(maxsize=None)
def syntax_tree(path, mentioning=()):
    """The parsed source of `path` (once per process); None when it mentions no call of a name in `mentioning`."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if mentioning and not any(f"{name}(" in text for name in mentioning):
        return None
    return ast.parse(text, path)


def literal_calls(module, functions):
    """(first argument, {keyword: value}) of each call in `module`'s source of a function named in `functions`
    with a literal first argument (keywords: the literal ones), in source order."""
    found = []
    for path in source_files(module):
        tree = syntax_tree(path, functions)
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in functions and node.args \
                    and isinstance(node.args[0], ast.Constant):
                keywords = {keyword.arg: keyword.value.value for keyword in node.keywords
                            if isinstance(keyword.value, ast.Constant)}
                found.append(((path, node.lineno, node.col_offset), node.args[0].value, keywords))
    return [(name, keywords) for _, name, keywords in sorted(found, key=lambda call: call[0])]


def recipe_names():
    """The recipes `@register_recipe` registers (recipes.list_recipes()), sorted."""
    return sorted(name for name, _ in literal_calls("recipes", ("register_recipe",)))


def metrics():
    """{name: measured by default} of zoo.eval.metric_registry's METRICS, in its order."""
    calls = literal_calls("zoo.eval.metric_registry", ("register_metric", "Metric"))
    return {name: keywords.get("default", False) for name, keywords in calls}


def constants(module):
    """{name: value} of `module`'s top-level assignments of a literal, or of arithmetic on literals (8 * 2**20)."""
    path, = source_files(module)
    found = {}
    for node in syntax_tree(path).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = value_of(node.value)
            except (ValueError, TypeError, KeyError):  # not a literal
                continue
    return found


def value_of(node):
    """The value of a literal expression, arithmetic (+ - * / **) on numbers included."""
    if isinstance(node, ast.BinOp):
        return OPERATORS[type(node.op)](value_of(node.left), value_of(node.right))
    return ast.literal_eval(node)


OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
             ast.Pow: operator.pow}
