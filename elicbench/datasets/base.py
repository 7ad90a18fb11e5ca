"""Dataset types: a dataset is an ordered list of image files plus where they came from."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import JobError, UserError


class DatasetError(UserError):
    """A dataset cannot be found, fetched or verified (exit code 2 at the CLI)."""


class DatasetWarning(UserWarning):
    """Something about a dataset's files a user should know, that does not stop a run (e.g. an EXIF
    orientation that is recorded but not applied)."""


class ImageLoadError(JobError):
    """One image cannot be read: becomes an error row naming the file; the run goes on."""


@dataclass(frozen=True)
class ImageRef:
    """One image of a dataset. ``name`` is unique within the dataset (file name without suffix)."""

    dataset: str
    name: str
    path: Path


@dataclass
class Dataset:
    name: str                      # 'kodak', 'clic', 'sample', or the directory's path as given
    images: list[ImageRef]
    source: str                    # where the files were found: '$ELICBENCH_DATA/kodak', cache, download ...
    root: Path | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def limit(self, n: int | None) -> "Dataset":
        if n is None:
            return self
        return Dataset(self.name, self.images[:n], self.source, self.root, dict(self.info))
