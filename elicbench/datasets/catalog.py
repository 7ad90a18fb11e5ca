"""The registry of named datasets and what each one provides.

A named dataset is a small class registered with ``@DATASETS.register("name")``. It knows where its
files may already be (``locate``), how to get them into the cache (``fetch``) and how to turn a
directory of them into a Dataset (``load``). ``resolve`` strings these together the same way for all.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Sequence

from ..registry import Registry
from .base import Dataset, DatasetError, ImageRef

DATASETS: Registry[type["NamedDataset"]] = Registry("dataset")


@dataclass
class Location:
    root: Path
    source: str                     # shown to users and recorded in the manifest, e.g. '$ELICBENCH_DATA/kodak'
    in_cache: bool
    missing: list[str] = field(default_factory=list)   # expected files that are not there


class NamedDataset(ABC):
    name: ClassVar[str] = ""        # set by DATASETS.register
    description: ClassVar[str] = ""

    @abstractmethod
    def locate(self) -> Location | None:
        """Where the dataset is now, without downloading; None when nowhere."""

    @abstractmethod
    def fetch(self, *, force: bool = False, progress: bool = True) -> Path:
        """Put the dataset into the cache (a no-op when it is complete there) and return its directory."""

    @abstractmethod
    def load(self, location: Location) -> Dataset:
        """The Dataset for the files at ``location``; DatasetError when they are incomplete."""

    @abstractmethod
    def origin(self) -> str:
        """Where a fetch gets the files from, for ``elicbench list``."""

    def resolve(self, *, download: bool = True, progress: bool = True) -> Dataset:
        location = self.locate()
        needs_fetch = location is None or (location.in_cache and bool(location.missing))
        if needs_fetch and download:
            self.fetch(progress=progress)
            location = self.locate()
            if location is None:
                raise DatasetError(f"dataset {self.name!r}: fetch finished but the files are not in the cache")
        if location is None:
            raise DatasetError(
                f"dataset {self.name!r} not found: looked in {self.search_text()}. "
                f"`elicbench fetch {self.name}` downloads it (needs network); or set ELICBENCH_DATA=DIR "
                f"with the files in DIR/{self.name}/; or by hand: {self.by_hand()}")
        return self.load(location)

    def by_hand(self) -> str:
        """How to get the files without `elicbench fetch` (one sentence, for error messages)."""
        from .locations import cache_dir

        return f"put the files into {cache_dir(self.name)}/"

    def unreachable_message(self, errors: Sequence[Any], done: str = "") -> str:
        """The short message of a fetch that cannot reach any host: what failed (grouped by reason),
        where the dataset was looked for, and the ways that work offline. ``errors`` are
        HostUnreachableError; ``done`` an optional note on what was fetched before."""
        hosts: dict[str, list[str]] = {}
        for e in errors:
            hosts.setdefault(e.reason, []).append(e.host)
        what = "; ".join(f"{', '.join(h)}: {reason}" for reason, h in hosts.items())
        return (f"cannot download {self.name}: no host reachable ({what}){done}. "
                f"Looked in {self.search_text()}. Have the files? Set ELICBENCH_DATA=DIR with them in "
                f"DIR/{self.name}/. By hand: {self.by_hand()}")

    def search_text(self) -> str:
        from .locations import cache_dir, data_dir

        places = []
        data = data_dir(self.name)
        places.append(f"$ELICBENCH_DATA/{self.name} ({data})" if data else "$ELICBENCH_DATA (unset)")
        places.append(f"the cache ({cache_dir(self.name)})")
        return " and ".join(places)

    def describe(self) -> dict[str, Any]:
        location = self.locate()
        present = location is not None and not location.missing
        return {
            "name": self.name,
            "description": self.description,
            "present": present,
            "location": str(location.root) if location else None,
            "source": location.source if location else None,
            "missing": list(location.missing) if location else [],
            "origin": self.origin(),
        }


def image_refs(dataset: str, paths: list[Path]) -> list[ImageRef]:
    """ImageRefs named by file stem; a stem shared by several files (a.png, a.jpg) keeps its suffix."""
    stems: dict[str, int] = {}
    for p in paths:
        stems[p.stem] = stems.get(p.stem, 0) + 1
    return [ImageRef(dataset, p.stem if stems[p.stem] == 1 else p.name, p) for p in paths]
