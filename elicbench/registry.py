"""A small name -> object registry with a decorator and entry-point plug-ins.

Built-in objects register themselves at import time with ``@REGISTRY.register("name")``;
third parties add theirs through an entry-point group (``elicbench.codecs``), loaded lazily
on first lookup, so a broken plug-in never stops the built-ins from working: its error is
kept and shown by ``elicbench list``.
"""
from __future__ import annotations

import difflib
from importlib import metadata
from typing import Callable, Generic, Iterator, TypeVar

from .errors import UserError

T = TypeVar("T")


class UnknownNameError(UserError, KeyError):
    """Raised for a name nobody registered; the message lists what exists."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want plain text
        return str(self.args[0])


class Registry(Generic[T]):
    def __init__(self, kind: str, entry_point_group: str | None = None):
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._items: dict[str, T] = {}
        self._plugins_loaded = entry_point_group is None
        self.plugin_errors: dict[str, str] = {}

    def register(self, name: str, obj: T | None = None) -> Callable[[T], T] | T:
        """Register ``obj`` under ``name``; usable as ``@registry.register("name")``."""
        if obj is not None:
            self._add(name, obj)
            return obj

        def decorator(o: T) -> T:
            self._add(name, o)
            return o

        return decorator

    def _add(self, name: str, obj: T) -> None:
        if name in self._items and self._items[name] is not obj:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        if hasattr(obj, "__dict__") and isinstance(obj, type):
            # The registered name becomes the object's identity (e.g. Codec.name).
            setattr(obj, "name", name)
        self._items[name] = obj

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in metadata.entry_points(group=self.entry_point_group):
            if ep.name in self._items:
                continue
            try:
                self._add(ep.name, ep.load())
            except Exception as exc:  # a broken plug-in must not break the tool
                self.plugin_errors[ep.name] = f"{type(exc).__name__}: {exc} (entry point {ep.value})"

    def get(self, name: str) -> T:
        self._load_plugins()
        try:
            return self._items[name]
        except KeyError:
            pass
        if name in self.plugin_errors:
            raise UnknownNameError(f"{self.kind} {name!r} failed to load: {self.plugin_errors[name]}")
        known = sorted(self._items)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownNameError(f"unknown {self.kind} {name!r}.{hint} Known: {', '.join(known)}")

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        self._load_plugins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
