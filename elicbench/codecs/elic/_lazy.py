"""Lazy definition of TensorFlow classes.

Modules of this package must import cheaply (``elicbench list`` never loads TensorFlow), yet
Keras layers need TF at class-definition time. Each such module defines its classes in a
``_define(tf)`` function and exposes them through ``lazy_module_getattr``: the first attribute
access imports TF (via ``elicbench.tfenv``) and defines them once.
"""
from __future__ import annotations

import functools
from typing import Any, Callable


def lazy_module_getattr(define: Callable[[Any], dict[str, Any]], module_name: str) -> Callable[[str], Any]:
    @functools.cache
    def namespace() -> dict[str, Any]:
        from ...tfenv import import_tf

        return define(import_tf())

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        ns = namespace()
        try:
            return ns[name]
        except KeyError:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}") from None

    return __getattr__
