"""Data sets by name.

``load_data("digits")``, ``load_data("mnist", data_dir="../shared/data")``,
``load_data("folder:/path/to/tree")``: every loader returns a :class:`DataBundle`.

A loader is registered with :func:`register_dataset`. Names ending in ``:`` take an argument
(``folder:PATH``, ``csv:PATH:COLUMN``, ``ucr:NAME``). Options a loader accepts (``seq_len``,
``n_samples``, ...) are its keyword arguments; unknown ones are an error that lists the valid ones.
"""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

from ..errors import UsageError
from ..registry import Registry, import_modules
from .base import DataBundle, Split, batch_indices, split_off

# modules that register data sets; imported on first use so `archbench --help` stays fast
_MODULES = ("images", "folder", "sequences", "text", "timeseries", "ucr", "table", "owntext", "series_own")


@dataclass
class DatasetEntry:
    name: str
    loader: Callable[..., DataBundle]  # loader(arg, data_dir=, seed=, **options)
    kind: str
    summary: str
    downloads: bool = False  # needs internet on first use unless --data-dir has a copy
    takes_arg: bool = False

    def options(self) -> Dict[str, Any]:
        """Tunable options and their defaults (from the loader's keyword-only arguments)."""
        sig = inspect.signature(self.loader)
        return {
            n: p.default
            for n, p in sig.parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and n not in ("data_dir", "seed")
        }


DATASETS: Registry[DatasetEntry] = Registry("data set")


def register_dataset(name: str, kind: str, summary: str, downloads: bool = False):
    """Decorator: ``@register_dataset("mnist", "image", "...")``; a name ending in ':' takes an argument."""

    def deco(fn):
        DATASETS.add(name, DatasetEntry(name, fn, kind, summary, downloads, name.endswith(":")))
        return fn

    return deco


@functools.lru_cache(maxsize=None)
def _load_modules() -> None:
    import_modules(__name__, _MODULES)


def parse_spec(spec: str) -> Tuple[DatasetEntry, Optional[str]]:
    """'mnist' -> (entry, None); 'folder:/x' -> (entry 'folder:', '/x')."""
    _load_modules()
    if ":" in spec:
        prefix, arg = spec.split(":", 1)
        entry = DATASETS.get(prefix + ":")
        if not arg:
            raise UsageError(f"data set {spec!r} needs an argument after ':'")
        return entry, arg
    entry = DATASETS.get(spec)
    if entry.takes_arg:
        raise UsageError(f"data set {spec!r} needs an argument, e.g. {spec}:PATH")
    return entry, None


def dataset_entry(spec: str) -> DatasetEntry:
    return parse_spec(spec)[0]


def load_data(spec: str, data_dir: Optional[str] = None, seed: int = 0, **options) -> DataBundle:
    """Load a data set by name. ``seed`` fixes the validation split (and generated data)."""
    entry, arg = parse_spec(spec)
    valid = entry.options()
    bad = sorted(set(options) - set(valid))
    if bad:
        raise UsageError(
            f"data set {spec!r} has no option {', '.join(bad)}; valid: {', '.join(sorted(valid)) or 'none'}"
        )
    args = (arg,) if entry.takes_arg else ()
    bundle = entry.loader(*args, data_dir=data_dir, seed=seed, **options)
    bundle.options = {**{k: v for k, v in valid.items()}, **options, **bundle.options}
    return bundle


def list_datasets():
    _load_modules()
    return [e for _, e in DATASETS.items()]


__all__ = [
    "DataBundle",
    "Split",
    "DATASETS",
    "register_dataset",
    "load_data",
    "list_datasets",
    "dataset_entry",
    "batch_indices",
    "split_off",
]
