"""Models by name, all built the same way: ``build_model(name, meta, **hparams)``.

``meta`` is ``DataBundle.meta()``: kind ("image", "sequence", "text", "forecast"), task,
input_shape, num_classes (or forecast horizon) and, for text, vocab_size. Every model sizes itself
from it, so the same name works on 8x8 digits, 28x28 MNIST and 32x32 CIFAR-10.

A model class is registered with :func:`register_model`. Its hyperparameters are the keyword
arguments of its constructor after ``meta``; ``recipe`` gives the training defaults (optimizer, lr,
epochs, ...) per data kind that reach the notebook's accuracy quickly; ``search_space`` declares what
``archbench tune`` may vary.
"""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from typing import Any, Dict, Tuple

import torch.nn as nn

from ..errors import UsageError
from ..registry import Registry, import_modules

_MODULES = ("mlp", "cnn", "resnet", "recurrent", "transformer", "tsc", "textcnn")


@dataclass
class ModelEntry:
    name: str
    cls: type
    kinds: Tuple[str, ...]
    family: str
    summary: str
    recipe: Dict[str, Dict[str, Any]] = field(default_factory=dict)  # kind or data name -> train defaults
    search_space: Dict[str, Any] = field(default_factory=dict)

    def hparams(self) -> Dict[str, Any]:
        """Constructor keyword arguments after ``meta`` and their defaults."""
        sig = inspect.signature(self.cls.__init__)
        return {
            n: p.default
            for n, p in list(sig.parameters.items())[2:]
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }

    def recipe_for(self, data_name: str, kind: str) -> Dict[str, Any]:
        """Training defaults: the kind's recipe, refined by one for this data set if declared."""
        base = dict(self.recipe.get(kind, {}))
        base.update(self.recipe.get(data_name.split(":")[0], {}))
        return base


MODELS: Registry[ModelEntry] = Registry("model")


def register_model(name, kinds, family, summary, recipe=None, search_space=None):
    def deco(cls):
        MODELS.add(name, ModelEntry(name, cls, tuple(kinds), family, summary, recipe or {}, search_space or {}))
        return cls

    return deco


@functools.lru_cache(maxsize=None)
def _load_modules() -> None:
    import_modules(__name__, _MODULES)


def model_entry(name: str) -> ModelEntry:
    _load_modules()
    return MODELS.get(name)


def list_models():
    _load_modules()
    return [e for _, e in MODELS.items()]


def check_fits(entry: ModelEntry, meta: Dict[str, Any], data_name: str = "") -> None:
    if meta["kind"] not in entry.kinds:
        raise UsageError(
            f"model {entry.name!r} does not take {meta['kind']} data{' (' + data_name + ')' if data_name else ''}; "
            f"it takes: {', '.join(entry.kinds)}"
        )


def build_model(name: str, meta: Dict[str, Any], **hparams) -> nn.Module:
    """Build a registered model for data described by ``meta``; unknown hparams are an error."""
    entry = model_entry(name)
    check_fits(entry, meta)
    valid = entry.hparams()
    bad = sorted(set(hparams) - set(valid))
    if bad:
        raise UsageError(
            f"model {name!r} has no hyperparameter {', '.join(bad)}; valid: {', '.join(sorted(valid)) or 'none'}"
        )
    try:
        model = entry.cls(meta, **hparams)
    except (ValueError, TypeError, RuntimeError, ZeroDivisionError) as e:  # sizes the layers cannot take
        given = ", ".join(f"{k}={v!r}" for k, v in hparams.items())
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UsageError(f"model {name!r} cannot be built with {given or 'its defaults'}: {msg}") from None
    model.arch = {"name": name, "meta": dict(meta), "hparams": {**valid, **hparams}}
    return model


__all__ = ["MODELS", "register_model", "build_model", "model_entry", "list_models", "check_fits"]
