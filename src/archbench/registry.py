"""A name -> factory table with helpful errors, shared by data sets and models."""
from __future__ import annotations

import difflib
import importlib
import inspect
from typing import Any, Dict, Generic, Iterator, TypeVar

from .errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, what: str):
        self.what = what
        self._items: Dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.what} {name!r} registered twice")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._items, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(
                f"unknown {self.what} {name!r}{hint}; choose from: {', '.join(sorted(self._items))}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def items(self):
        return sorted(self._items.items())


def check_choice(what: str, value: Any, choices) -> Any:
    """Raise a one-line UsageError unless value is one of choices."""
    if value not in choices:
        raise UsageError(f"unknown {what} {value!r}; choose from: {', '.join(map(str, choices))}")
    return value


def import_modules(package: str, names) -> None:
    """Import the modules that fill a registry (on first use, so `archbench --help` stays fast)."""
    for name in names:
        importlib.import_module(f"{package}.{name}")


# a constructor's or loader's annotation -> (test of a --set value, what to call it in the error)
_KINDS = {
    "int": (lambda v: isinstance(v, int), "a whole number"),
    "float": (lambda v: isinstance(v, (int, float)), "a number"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "str": (lambda v: isinstance(v, str), "text"),
}


# The range of every numeric setting whose type alone lets nonsense through (`--set hidden_sizes=[0]`
# built layers of no units and trained them under PyTorch's warnings; `--threads -1` reached torch):
# training settings, model hyperparameters and data options alike. A list (hidden_sizes, channels,
# widths) holds each entry to it; width and depth 0 mean "not set", checkpoint_every 0 "every step".
POSITIVE = ("positive", lambda v: v > 0)
AT_LEAST_0 = ("at least 0", lambda v: v >= 0)
AT_LEAST_1 = ("at least 1", lambda v: v >= 1)
PROBABILITY = ("a probability: at least 0 and below 1", lambda v: 0 <= v < 1)
FRACTION = ("a fraction: above 0 and at most 1", lambda v: 0 < v <= 1)
RANGES = {
    **dict.fromkeys(("hidden_size", "hidden_sizes", "channels", "widths", "fc_size", "embed_dim", "d_model", "d_ff",
                     "num_heads", "num_layers"), AT_LEAST_1),
    **dict.fromkeys(("width", "depth", "noise", "weight_decay", "grad_clip", "min_delta", "momentum",
                     "checkpoint_every", "l1_penalty", "plateau_patience", "min_steps"), AT_LEAST_0),
    **dict.fromkeys(("step_size", "cosine_period"), AT_LEAST_1),
    **dict.fromkeys(("gamma", "huber_delta"), POSITIVE),
    **dict.fromkeys(("eval_batch_size", "max_seconds", "max_steps", "threads"), POSITIVE),
    "dropout": PROBABILITY, "label_smoothing": PROBABILITY, "target_accuracy": FRACTION,
}


def check_range(key: str, value: Any) -> None:
    """A setting's value (every entry of a list) against RANGES; None and non-numbers pass."""
    if key not in RANGES:
        return
    wanted, ok = RANGES[key]
    items = value if isinstance(value, (list, tuple)) else [value]
    if any(isinstance(v, (int, float)) and not isinstance(v, bool) and not ok(v) for v in items):
        each = "each entry of " if isinstance(value, (list, tuple)) else ""
        raise UsageError(f"{each}{key} must be {wanted}, got {value!r}")


def check_type(key: str, value: Any, annotation: Any) -> None:
    """A value against its annotation; annotations other than int, float, bool, str and Optional[...]
    of those are left to the function that takes the value."""
    a = annotation
    note = a if isinstance(a, str) else a.__name__ if isinstance(a, type) else str(a).replace("typing.", "")
    optional = note.startswith("Optional[")
    base = note[len("Optional["):-1] if optional else note
    if base not in _KINDS or (optional and value is None):
        return
    ok, wanted = _KINDS[base]
    if not ok(value) or (isinstance(value, bool) and base != "bool"):  # True is an int to Python
        raise UsageError(f"{key} must be {wanted}{' or none' if optional else ''}, got {value!r}")


def check_types(values: Dict[str, Any], signature: inspect.Signature) -> None:
    """--set values against the annotations of the function they go to, then against their ranges, so
    that `--set hidden_size=big` or `hidden_size=0` says what it should be before anything is built.
    Keys the function does not take are left to the caller (it names the valid ones)."""
    for key, value in values.items():
        if key in signature.parameters:
            check_type(key, value, signature.parameters[key].annotation)
            check_range(key, value)
