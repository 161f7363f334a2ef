"""archbench: train, compare, explain and report on the classic neural architectures.

Library use::

    from archbench import TrainConfig, train_model
    result = train_model(TrainConfig(model="cnn", data="digits", epochs=5))
    print(result.metrics["test_accuracy"], result.run_dir)
"""
__version__ = "0.1.0"

_LAZY = {
    "load_data": ("archbench.data", "load_data"),
    "list_datasets": ("archbench.data", "list_datasets"),
    "DataBundle": ("archbench.data.base", "DataBundle"),
    "build_model": ("archbench.models", "build_model"),
    "list_models": ("archbench.models", "list_models"),
    "TrainConfig": ("archbench.config", "TrainConfig"),
    "train_model": ("archbench.experiment.run", "train"),
    "evaluate_run": ("archbench.experiment.run", "evaluate_run"),
    "load_run": ("archbench.rundir", "load_run"),
    "fit": ("archbench.train.loop", "fit"),
    "evaluate": ("archbench.train.loop", "evaluate"),
    "EarlyStopping": ("archbench.train.callbacks", "EarlyStopping"),
    "save_checkpoint": ("archbench.train.checkpoint", "save_checkpoint"),
    "load_checkpoint": ("archbench.train.checkpoint", "load_checkpoint"),
    "save_model": ("archbench.train.checkpoint", "save_model"),
    "load_model": ("archbench.train.checkpoint", "load_model"),
}


def __getattr__(name):  # keep `import archbench` (and the CLI's --help) free of torch's import time
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'archbench' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
