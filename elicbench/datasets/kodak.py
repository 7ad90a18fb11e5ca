"""The Kodak Lossless True Color Image Suite: 24 PNGs, kodim01.png .. kodim24.png (768x512 or 512x768).

The expected SHA-256 of every file ships with the package (``elicbench/data/kodak/SHA256SUMS``, a
copy of ../shared/datasets/kodak/SHA256SUMS).

Verification policy: a fetch checks every downloaded file against that list before it is moved into
the cache, and re-checks files already in the cache (15 MB, a fraction of a second), so the cache only
ever holds verified files. Resolving a local copy ($ELICBENCH_DATA or the cache) only checks that all
24 files exist; ``resolve_dataset(..., verify=True)`` (or ``verify_dataset``) also checks their hashes.

Download: from each base URL in turn, ``<base>/kodimNN.png``; a file that fails or does not match its
SHA-256 at one host is tried at the next. Hosts: Rich Franzen's r0k.us (the usual public home of the
suite), then a GitHub repository pinned to the commit the shipped hashes were taken from
(see ../shared/datasets/kodak/SOURCE.md). ``$ELICBENCH_KODAK_URL`` replaces the list with one base URL
(a mirror; the hashes must still match).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

from .base import Dataset, DatasetError
from .catalog import DATASETS, Location, NamedDataset, image_refs
from .checksums import file_sha256, shipped_sha256sums
from .download import download_file
from .locations import cache_dir, data_dir

log = logging.getLogger(__name__)

KODAK_BASE_URLS = (
    "https://r0k.us/graphics/kodak/kodak",
    "https://raw.githubusercontent.com/coodie/quant/bc7affc715299a8d98403622918116b88657a8b8/images/kodim",
)
KODAK_URL_ENV = "ELICBENCH_KODAK_URL"


@DATASETS.register("kodak")
class KodakDataset(NamedDataset):
    description = "Kodak Lossless True Color Image Suite: 24 photographs, 768x512 / 512x768 PNG"

    def __init__(self, base_urls: Sequence[str] | None = None):
        if base_urls is None:
            override = os.environ.get(KODAK_URL_ENV, "").strip()
            base_urls = (override,) if override else KODAK_BASE_URLS
        self.base_urls = tuple(u.rstrip("/") for u in base_urls)
        self.sha256 = shipped_sha256sums("kodak")

    def expected_files(self) -> list[str]:
        return sorted(self.sha256)

    def _missing(self, root: Path) -> list[str]:
        return [n for n in self.expected_files() if not (root / n).is_file()]

    def locate(self) -> Location | None:
        data = data_dir("kodak")
        if data is not None and data.is_dir():
            return Location(data, "$ELICBENCH_DATA/kodak", in_cache=False, missing=self._missing(data))
        cached = cache_dir("kodak")
        if cached.is_dir():
            return Location(cached, "cache", in_cache=True, missing=self._missing(cached))
        return None

    def load(self, location: Location) -> Dataset:
        if location.missing:
            how = ("run `elicbench fetch kodak` to complete the cache" if location.in_cache else
                   "restore them, or unset ELICBENCH_DATA to use the cache / download")
            raise DatasetError(f"Kodak at {location.root} ({location.source}) is incomplete: "
                               f"missing {', '.join(location.missing)}; {how}")
        paths = [location.root / n for n in self.expected_files()]
        return Dataset("kodak", image_refs("kodak", paths), location.source, location.root,
                       {"expected_sha256": dict(self.sha256)})

    def origin(self) -> str:
        return "download: " + " or ".join(f"{u}/kodimNN.png" for u in self.base_urls)

    def fetch(self, *, force: bool = False, progress: bool = True) -> Path:
        target = cache_dir("kodak")
        target.mkdir(parents=True, exist_ok=True)
        failed = []
        for name in self.expected_files():
            path = target / name
            if not force and path.is_file() and file_sha256(path) == self.sha256[name]:
                continue
            # One bad file does not stop the others: a later fetch then only needs the failed ones.
            error = self._download_one(name, path, progress)
            if error:
                failed.append(error)
        if failed:
            raise DatasetError(f"could not fetch {len(failed)} Kodak file(s) into {target}: " + " | ".join(failed))
        return target

    def _download_one(self, name: str, path: Path, progress: bool) -> str | None:
        """Try each host in turn; the reasons for all failures, or None on success."""
        failures = []
        for base in self.base_urls:
            url = f"{base}/{name}"
            try:
                download_file(url, path, sha256=self.sha256[name], progress=progress, desc=name)
                return None
            except DatasetError as exc:
                log.warning("%s", exc)
                failures.append(str(exc))
        return f"{name}: " + "; ".join(failures)
