"""Lazy attributes of packages (names resolved from submodules on first use: those import TensorFlow)
and the deprecated aliases of the flat module names zoo/ had before it became packages."""
import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

_TRAIN = ("zoo.train.config", "zoo.train.loop", "zoo.train.strategy", "zoo.train.build", "zoo.train.run_directory",
          "zoo.train.callbacks")
MOVED = {  # old module → the module(s) that now define its names
    "zoo.datasets": ("zoo.data.datasets",), "zoo.triangles": ("zoo.data.triangles",),
    "zoo.training": _TRAIN, "zoo.launch": ("zoo.train.launch",), "zoo.perceptual": ("zoo.train.perceptual",),
    "zoo.evaluation": ("zoo.eval.scoring",), "zoo.evaluator": ("zoo.eval.classifier",),
    "zoo.task_evaluation": ("zoo.tasks.translation", "zoo.tasks.super_resolution"),
    "zoo.eval.tasks": ("zoo.tasks.translation", "zoo.tasks.super_resolution"), "zoo.registry": ("zoo.presets.store",),
    "zoo.pretrained": ("zoo.presets.pretrained",), "zoo.packaging": ("zoo.presets.packaging",),
    "zoo.generators": ("zoo.sampling", "zoo.train.run_directory"), "zoo.study_report": ("zoo.study.analysis",),
}


def lazy_exports(package, exports):
    """A module `__getattr__` for `package`: `exports` maps a public name to the submodule defining it."""
    def __getattr__(name):
        if name in exports:
            return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


def moved_module(old):
    """A stand-in module for `old` whose names are looked up in the modules that now define them."""
    warnings.warn(f"{old} is deprecated: import from {' / '.join(MOVED[old])} (the old name will be removed in a future release)",
                  DeprecationWarning, stacklevel=4)
    homes = [importlib.import_module(name) for name in MOVED[old]]
    module = types.ModuleType(old, f"Deprecated alias of {', '.join(MOVED[old])}.")

    def __getattr__(name):
        for home in homes:
            if hasattr(home, name):
                return getattr(home, name)
        raise AttributeError(f"module {old!r} (now {', '.join(MOVED[old])}) has no attribute {name!r}")

    module.__getattr__ = __getattr__
    return module


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Lets `import zoo.training` and `from zoo.registry import …` keep working, with a DeprecationWarning."""

    def find_spec(self, fullname, path, target=None):
        return importlib.util.spec_from_loader(fullname, self) if fullname in MOVED else None

    def create_module(self, spec):
        return moved_module(spec.name)

    def exec_module(self, module):
        pass


def install():
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
