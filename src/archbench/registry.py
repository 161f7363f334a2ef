"""A name -> factory table with helpful errors, shared by data sets and models."""
from __future__ import annotations

import difflib
import inspect
import importlib
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


# The least value of a model setting or data option where its type alone lets nonsense through
# (`--set hidden_sizes=[0]` built layers of no units and trained them under PyTorch's warnings); a list
# (hidden_sizes, channels, widths) holds each of its entries to it. width and depth 0 mean "not set".
AT_LEAST = {"hidden_size": 1, "hidden_sizes": 1, "channels": 1, "widths": 1, "fc_size": 1, "embed_dim": 1,
            "d_model": 1, "d_ff": 1, "num_heads": 1, "num_layers": 1, "width": 0, "depth": 0, "noise": 0}


def check_range(key: str, value: Any) -> None:
    """A setting's value against AT_LEAST, and a dropout probability against [0, 1)."""
    items = value if isinstance(value, (list, tuple)) else [value]
    numbers = [v for v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if key == "dropout" and numbers and not 0 <= numbers[0] < 1:
        raise UsageError(f"dropout is a probability: at least 0 and below 1, got {value!r}")
    if key in AT_LEAST and any(v < AT_LEAST[key] for v in numbers):
        each = "each entry of " if isinstance(value, (list, tuple)) else ""
        raise UsageError(f"{each}{key} must be at least {AT_LEAST[key]}, got {value!r}")


def check_types(values: Dict[str, Any], signature: inspect.Signature) -> None:
    """--set values against the annotations of the function they go to, so that `--set hidden_size=big`
    says what it should be before anything is built, then against their ranges (check_range).
    Annotations other than int, float, bool, str and Optional[...] of those are left to the function
    itself."""
    for key, value in values.items():
        if key in signature.parameters:
            check_range(key, value)
        a = signature.parameters[key].annotation if key in signature.parameters else ""
        note = a if isinstance(a, str) else a.__name__ if isinstance(a, type) else str(a).replace("typing.", "")
        optional = note.startswith("Optional[")
        base = note[len("Optional["):-1] if optional else note
        if base not in _KINDS or (optional and value is None):
            continue
        ok, wanted = _KINDS[base]
        if not ok(value) or (isinstance(value, bool) and base != "bool"):  # True is an int to Python
            raise UsageError(f"{key} must be {wanted}{' or none' if optional else ''}, got {value!r}")
