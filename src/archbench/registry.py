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


def check_types(values: Dict[str, Any], signature: inspect.Signature) -> None:
    """--set values against the annotations of the function they go to, so that `--set hidden_size=big`
    says what it should be before anything is built. Annotations other than int, float, bool, str and
    Optional[...] of those are left to the function itself."""
    for key, value in values.items():
        a = signature.parameters[key].annotation if key in signature.parameters else ""
        note = a if isinstance(a, str) else a.__name__ if isinstance(a, type) else str(a).replace("typing.", "")
        optional = note.startswith("Optional[")
        base = note[len("Optional["):-1] if optional else note
        if base not in _KINDS or (optional and value is None):
            continue
        ok, wanted = _KINDS[base]
        if not ok(value) or (isinstance(value, bool) and base != "bool"):  # True is an int to Python
            raise UsageError(f"{key} must be {wanted}{' or none' if optional else ''}, got {value!r}")
