"""Datasets: finding, downloading, verifying and reading the images a run is made of.

A dataset is named (``kodak``, ``clic``, ``sample``; see ``DATASETS``) or is any directory of images.
Named datasets are looked up in ``$ELICBENCH_DATA/<name>/`` first, then in the user cache
(``$ELICBENCH_CACHE``, else ``$XDG_CACHE_HOME/elicbench``, else ``~/.cache/elicbench``) ``/<name>/``,
and are otherwise downloaded into the cache (unless ``download=False``). A registered name wins over
a directory of the same name in the working directory: write ``./kodak`` for the directory.

A directory dataset is every file directly in it with one of the suffixes in ``IMAGE_SUFFIXES``
(case-insensitive, hidden files skipped), sorted by file name; each image is named by its file stem
(by its file name where two files share a stem).

Hashes: resolving never hashes files unless ``verify=True``; ``verify_dataset`` hashes every image,
checks those with a known SHA-256 and stores all hashes in ``dataset.info["sha256"]`` for the manifest.
Pixels: ``load_rgb`` (policy in ``elicbench.datasets.images``). Manifest entries: ``image_record``
(hash, size, and the EXIF orientation / ICC profile that are recorded but not applied).
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from ..registry import UnknownNameError
from . import clic as _clic, kodak as _kodak, sample as _sample  # noqa: F401  (register the named datasets)
from .base import Dataset, DatasetError, DatasetWarning, ImageLoadError, ImageRef
from .catalog import DATASETS, NamedDataset, image_refs
from .checksums import file_sha256
from .images import (IMAGE_SUFFIXES, ignored_metadata, ignored_metadata_warning, list_image_files, load_rgb,
                     unreadable_reason)

__all__ = [
    "DATASETS", "Dataset", "DatasetError", "DatasetWarning", "IMAGE_SUFFIXES", "ImageLoadError", "ImageRef",
    "NamedDataset", "dataset_names", "describe_datasets", "fetch_dataset", "file_sha256", "ignored_metadata",
    "ignored_metadata_warning", "image_record", "load_rgb", "resolve_dataset", "verify_dataset",
]


def dataset_names() -> list[str]:
    return DATASETS.names()


def _named(name: str) -> NamedDataset:
    try:
        return DATASETS.get(name)()
    except UnknownNameError as exc:
        raise DatasetError(str(exc)) from None


def resolve_dataset(name_or_path: str, *, download: bool = True, progress: bool = True,
                    verify: bool = False) -> Dataset:
    """The Dataset for a registered name or a directory path (see the module docstring).

    ``download=False`` never touches the network (DatasetError when a named dataset is not local).
    ``verify=True`` also checks every file's SHA-256 (see ``verify_dataset``).
    """
    text = str(name_or_path).strip()
    if not text:
        raise DatasetError(f"no dataset given: name one of {', '.join(dataset_names())} or a directory of images")
    if text in DATASETS:
        dataset = _named(text).resolve(download=download, progress=progress)
    else:
        dataset = _directory_dataset(text)
    if verify:
        verify_dataset(dataset)
    return dataset


def _directory_dataset(text: str) -> Dataset:
    path = Path(text).expanduser()
    if path.is_dir():
        root = path.resolve()
        files = list_image_files(root)
        if not files:
            raise DatasetError(f"directory {text!r} holds no images (looked for {', '.join(IMAGE_SUFFIXES)})")
        return Dataset(text, image_refs(text, files), f"directory {root}", root)
    if path.exists():
        raise DatasetError(f"{text!r} is a file, not a directory of images or a dataset name "
                           f"({', '.join(dataset_names())})")
    if "/" in text or os.sep in text or text.startswith((".", "~")):
        raise DatasetError(f"dataset directory {text!r} does not exist")
    close = difflib.get_close_matches(text, dataset_names(), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise DatasetError(f"unknown dataset {text!r}: not one of {', '.join(dataset_names())}, "
                       f"and no directory of that name exists.{hint}")


def verify_dataset(dataset: Dataset) -> dict[str, str]:
    """Hash every image; check the ones with a known SHA-256 (``info['expected_sha256']``).

    Returns ``{file name: sha256}`` (also stored as ``dataset.info['sha256']``); raises DatasetError
    naming every mismatching file with its expected and actual hash.
    """
    expected: dict[str, str] = dataset.info.get("expected_sha256", {})
    hashes: dict[str, str] = {}
    bad = []
    for ref in dataset.images:
        got = file_sha256(ref.path)
        hashes[ref.path.name] = got
        want = expected.get(ref.path.name)
        if want is not None and want != got:
            bad.append(f"{ref.path}: expected sha256 {want}, got {got}")
    if bad:
        raise DatasetError(f"dataset {dataset.name!r} ({dataset.source}) failed verification: " + "; ".join(bad))
    dataset.info["sha256"] = hashes
    return hashes


def image_record(ref: ImageRef) -> dict[str, Any]:
    """One image's entry in the manifest: ``name``, ``file``, ``bytes``, ``sha256`` and whatever
    :func:`ignored_metadata` finds (EXIF orientation, ICC profile). A file that cannot be read (a
    broken symbolic link, no permission) gets ``bytes`` and ``sha256`` None and ``error`` saying
    why; its jobs become error rows naming it."""
    record: dict[str, Any] = {"name": ref.name, "file": ref.path.name}
    try:
        record["bytes"] = ref.path.stat().st_size
        record["sha256"] = file_sha256(ref.path)
    except OSError as exc:
        record.update(bytes=None, sha256=None, error=unreadable_reason(ref.path, exc))
        return record
    record.update(ignored_metadata(ref.path))
    return record


def describe_datasets() -> list[dict[str, Any]]:
    """One dict per named dataset for ``elicbench list``: name, description, present (bool),
    location and source (where it is found now, or None), missing (expected files not there),
    origin (where a fetch gets it)."""
    return [_named(name).describe() for name in dataset_names()]


def fetch_dataset(name: str, *, force: bool = False, progress: bool = True) -> Path:
    """Download a named dataset into the cache, verified; a no-op when the cache is complete.

    ``force=True`` downloads again. Returns the cache directory (for ``sample``: scikit-image's data
    directory, which needs no download).
    """
    return _named(name).fetch(force=force, progress=progress)
