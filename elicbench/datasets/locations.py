"""Where named datasets are looked for: ``$ELICBENCH_DATA/<name>/``, then the user cache ``<cache>/<name>/``.

The cache is ``$ELICBENCH_CACHE`` if set, else ``$XDG_CACHE_HOME/elicbench``, else ``~/.cache/elicbench``.
Both are read from the environment on every call, so tests and long-lived processes see changes, and
made absolute (image paths must not depend on the working directory of a worker process).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def data_root() -> Path | None:
    """``$ELICBENCH_DATA`` as a path, or None when unset or empty."""
    value = os.environ.get("ELICBENCH_DATA", "").strip()
    return Path(value).expanduser().resolve() if value else None


def cache_root() -> Path:
    value = os.environ.get("ELICBENCH_CACHE", "").strip()
    if value:
        return Path(value).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return (base / "elicbench").resolve()


def data_dir(name: str) -> Path | None:
    root = data_root()
    return root / name if root is not None else None


def cache_dir(name: str) -> Path:
    return cache_root() / name


@contextmanager
def provisional_dir(path: Path) -> Iterator[Path]:
    """Create ``path`` (and its missing parents) for a fetch; on the way out, success or failure,
    remove again those of them that this created and that are still empty. A failed fetch leaves
    no empty cache folder behind (which would look like an incomplete dataset)."""
    created = []
    p = path
    while not p.exists() and p != p.parent:
        created.append(p)           # deepest first
        p = p.parent
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield path
    finally:
        for d in created:
            try:
                d.rmdir()           # only ever removes an empty directory
            except OSError:
                break               # not empty (or gone): its parents are not empty either
