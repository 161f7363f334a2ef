"""A name -> factory table with helpful errors, shared by data sets and models."""
from __future__ import annotations

import difflib
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
