"""archbench: train, compare, explain and report on the classic neural architectures.

Library use (docs/api.md has the whole API, with examples that the tests run)::

    from archbench import TrainConfig, train_model, compare_models, evaluate_run
    result = train_model(TrainConfig(model="cnn", data="digits", epochs=5))
    print(result.metrics["test_accuracy"], result.run_dir)
    table = compare_models(["mlp", "cnn"], data="digits", epochs=2)

The names below load on first use, so that ``import archbench`` (and ``archbench --help``) does not
pay for importing torch.
"""
import importlib
import importlib.abc
import importlib.util
import sys
import warnings

__version__ = "0.2.0"

_LAZY = {
    # data and models
    "load_data": ("archbench.data", "load_data"),
    "list_datasets": ("archbench.data", "list_datasets"),
    "DataBundle": ("archbench.data.base", "DataBundle"),
    "build_model": ("archbench.models", "build_model"),
    "list_models": ("archbench.models", "list_models"),
    "TrainConfig": ("archbench.config", "TrainConfig"),
    # the jobs of the command line
    "train_model": ("archbench.experiment.run", "train"),
    "resume_run": ("archbench.experiment.run", "resume_run"),
    "compare_models": ("archbench.experiment.api", "compare_models"),
    "evaluate_run": ("archbench.experiment.api", "evaluate_run"),
    "predict": ("archbench.experiment.api", "predict"),
    "explain_run": ("archbench.experiment.api", "explain_run"),
    "draw_fundamentals": ("archbench.experiment.api", "draw_fundamentals"),
    "build_report": ("archbench.report.html", "build_report"),
    "load_run": ("archbench.rundir", "load_run"),
    # what they return
    "RunResult": ("archbench.experiment.results", "RunResult"),
    "ComparisonResult": ("archbench.experiment.results", "ComparisonResult"),
    # the engine, for your own loops
    "Trainer": ("archbench.train.loop", "Trainer"),
    "evaluate": ("archbench.train.evaluate", "evaluate"),
    "EarlyStopping": ("archbench.train.callbacks", "EarlyStopping"),
    "save_checkpoint": ("archbench.train.checkpoint", "save_checkpoint"),
    "load_checkpoint": ("archbench.train.checkpoint", "load_checkpoint"),
    "save_model": ("archbench.train.checkpoint", "save_model"),
    "load_model": ("archbench.train.checkpoint", "load_model"),
}

# Modules that moved in 0.2.0 (CHANGELOG.md): the old import paths keep working, with a warning, for
# one release.
_MOVED = {
    "archbench.train.run": "archbench.experiment.run",
    "archbench.compare": "archbench.experiment.compare",
    "archbench.tune": "archbench.experiment.tune",
    "archbench.bench": "archbench.experiment.bench",
    "archbench.predict": "archbench.experiment.predict",
    "archbench.train.cost": "archbench.models.cost",
    "archbench.train.lr_find_study": "archbench.experiment.lr_find",
}


class _MovedModule(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves an old module path to the module's new home, warning once per import."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        new = _MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new} in archbench 0.2.0; the old path goes in the next release",
                      DeprecationWarning, stacklevel=3)
        module = importlib.import_module(new)
        self.spec = module.__spec__  # the import machinery sets __spec__ to the old name's: put it back below
        return module

    def exec_module(self, module):  # the new module is already executed
        module.__spec__ = self.spec


sys.meta_path.append(_MovedModule())


def __getattr__(name):
    if name in _LAZY:
        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'archbench' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])


__all__ = ["__version__", *_LAZY]
