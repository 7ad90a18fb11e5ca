"""The Kodak Lossless True Color Image Suite: 24 PNGs, kodim01.png .. kodim24.png (768x512 or 512x768).

The expected SHA-256 of every file ships with the package (``elicbench/data/kodak/SHA256SUMS``, a
copy of ../shared/datasets/kodak/SHA256SUMS).

Verification policy: a fetch checks every downloaded file against that list before it is moved into
the cache, and re-checks files already in the cache (15 MB, a fraction of a second), so the cache only
ever holds verified files. Resolving a local copy ($ELICBENCH_DATA or the cache) only checks that all
24 files exist; ``resolve_dataset(..., verify=True)`` (or ``verify_dataset``) also checks their hashes.

Download: from each base URL in turn, ``<base>/kodimNN.png``; a file that fails or does not match its
SHA-256 at one host is tried at the next. A host that cannot be reached at all (name not resolved,
connection refused, no route) is not tried again for the other files, and when no host is left the
fetch stops at once with a short message (no network: seconds, not minutes); directories it created
are removed again when nothing landed in them. Hosts: Rich Franzen's r0k.us (the usual public home of the
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
from .download import HostUnreachableError, download_file
from .locations import cache_dir, data_dir, provisional_dir

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
            missing = self._missing(cached)
            if len(missing) < len(self.sha256):  # an empty folder is no dataset
                return Location(cached, "cache", in_cache=True, missing=missing)
        return None

    def load(self, location: Location) -> Dataset:
        if location.missing:
            how = (f"complete it with `elicbench fetch kodak` (needs network), or copy the missing files "
                   f"there from {self.base_urls[0]}/, or set ELICBENCH_DATA=DIR with all 24 in DIR/kodak/"
                   if location.in_cache else
                   "restore them, or unset ELICBENCH_DATA to use the cache / download")
            raise DatasetError(f"Kodak at {location.root} ({location.source}) is incomplete: "
                               f"missing {', '.join(location.missing)}; {how}")
        paths = [location.root / n for n in self.expected_files()]
        return Dataset("kodak", image_refs("kodak", paths), location.source, location.root,
                       {"expected_sha256": dict(self.sha256)})

    def origin(self) -> str:
        others = len(self.base_urls) - 1
        mirrors = "" if not others else " or a mirror" if others == 1 else f" or {others} mirrors"
        return f"download: {self.base_urls[0]}/kodimNN.png{mirrors}"

    def by_hand(self) -> str:
        return (f"download kodim01.png .. kodim24.png from {self.base_urls[0]}/ into {cache_dir('kodak')}/ "
                "(`elicbench fetch kodak` then checks them)")

    def fetch(self, *, force: bool = False, progress: bool = True) -> Path:
        target = cache_dir("kodak")
        failed: list[str] = []
        dead: dict[str, HostUnreachableError] = {}   # base URL -> why it cannot be reached
        with provisional_dir(target):
            for name in self.expected_files():
                path = target / name
                if not force and path.is_file() and file_sha256(path) == self.sha256[name]:
                    continue
                hosts = [b for b in self.base_urls if b not in dead]
                if not hosts:
                    break
                # One bad file does not stop the others: a later fetch then only needs the failed ones.
                error = self._download_one(name, path, hosts, dead, progress)
                if error:
                    failed.append(error)
            if len(dead) == len(self.base_urls):
                have = len(self.expected_files()) - len(self._missing(target))
                done = f"; {have} of 24 files are in {target}" if have else ""
                raise DatasetError(self.unreachable_message(list(dead.values()), done))
        if failed:
            shown = " | ".join(failed[:3]) + (f" | ... and {len(failed) - 3} more" if len(failed) > 3 else "")
            raise DatasetError(f"could not fetch {len(failed)} Kodak file(s) into {target}: {shown}")
        return target

    def _download_one(self, name: str, path: Path, hosts: list[str], dead: dict[str, HostUnreachableError],
                      progress: bool) -> str | None:
        """Try each host in turn; the reasons for all failures, or None on success. A host that cannot
        be reached is added to ``dead`` and not tried again in this fetch."""
        failures: list[DatasetError] = []
        for base in hosts:
            url = f"{base}/{name}"
            try:
                download_file(url, path, sha256=self.sha256[name], progress=progress, desc=name)
                for lost in failures:
                    if isinstance(lost, HostUnreachableError):  # said once, here or in the final error
                        log.warning("%s; downloading from the next host instead", lost)
                return None
            except HostUnreachableError as exc:
                dead[base] = exc
                failures.append(exc)
            except DatasetError as exc:
                log.warning("%s", exc)
                failures.append(exc)
        return f"{name}: " + "; ".join(map(str, failures))
