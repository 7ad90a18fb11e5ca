"""CLIC professional validation set (CLIC 2020 'professional_valid', 41 PNG photographs).

Download: the official archive ``professional_valid_2020.zip`` from data.vision.ee.ethz.ch
(``$ELICBENCH_CLIC_URL`` may name a mirror). Its size and SHA-256 are those recorded by TensorFlow
Datasets (tensorflow/datasets, ``tensorflow_datasets/url_checksums/clic.txt``: 134,834,429 bytes,
sha256 00be3809...6b7d); the archive is checked against both before it is opened. Its images are then
extracted safely (see ``archive.py``) into a temporary directory in the cache, flattened to their
file names (macOS ``__MACOSX``/``._*`` entries skipped), a ``SHA256SUMS`` of the extracted files is
written next to them, and the directory is renamed to ``<cache>/clic`` in one step: ``<cache>/clic``
either does not exist or is complete. The archive is deleted afterwards. An archive put into
``<cache>/downloads/`` by hand is used (after the same checks) instead of downloading it. When the host
cannot be reached the fetch fails at once with a short message, and leaves no empty folders.

Which files can be verified:
- a downloaded copy: every file, through the archive hash (and, afterwards, the ``SHA256SUMS``
  written at extraction, from the verified archive);
- a local copy in ``$ELICBENCH_DATA/clic``: only the files named in the shipped list
  ``elicbench/data/clic/SHA256SUMS`` (the 8 images of ../shared/datasets/clic, of which only
  alberto-montalesi-176097.png is known to belong to the professional validation set; the others are
  CLIC images from other splits, see ../shared/datasets/clic/SOURCE.md). Other files there are used
  as they are, and listed as unverifiable in ``Dataset.info``.
A local copy is used as found: whatever images the directory holds.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import urllib.parse
from pathlib import Path

from .archive import safe_extract_zip
from .base import Dataset, DatasetError
from .catalog import DATASETS, Location, NamedDataset, image_refs
from .checksums import SUMS_FILE, file_sha256, read_sha256sums, shipped_sha256sums, write_sha256sums
from .download import HostUnreachableError, download_file
from .images import IMAGE_SUFFIXES, list_image_files
from .locations import cache_dir, cache_root, data_dir, provisional_dir

log = logging.getLogger(__name__)

CLIC_ARCHIVE_URL = "https://data.vision.ee.ethz.ch/cvl/clic/professional_valid_2020.zip"
CLIC_ARCHIVE_SHA256 = "00be38092ade2ab5163b65f7f6523d46c7bca147007f559adbb02c0afc236b7d"
CLIC_ARCHIVE_BYTES = 134_834_429
CLIC_URL_ENV = "ELICBENCH_CLIC_URL"


def clic_member_name(member: str) -> str | None:
    """Output file name for an archive member: images only, flattened; None to skip it."""
    parts = [p for p in re.split(r"[\\/]+", member) if p]
    if not parts or "__MACOSX" in parts or parts[-1].startswith("."):
        return None
    return parts[-1] if Path(parts[-1]).suffix.lower() in IMAGE_SUFFIXES else None


@DATASETS.register("clic")
class ClicDataset(NamedDataset):
    description = "CLIC 2020 professional validation: 41 high-resolution photographs (PNG, up to 2048 px)"

    def __init__(self, archive_url: str | None = None, archive_sha256: str | None = CLIC_ARCHIVE_SHA256,
                 archive_size: int | None = CLIC_ARCHIVE_BYTES):
        if archive_url is None:
            archive_url = os.environ.get(CLIC_URL_ENV, "").strip() or CLIC_ARCHIVE_URL
        self.archive_url = archive_url
        self.archive_sha256 = archive_sha256
        self.archive_size = archive_size

    def locate(self) -> Location | None:
        data = data_dir("clic")
        if data is not None and data.is_dir():
            return Location(data, "$ELICBENCH_DATA/clic", in_cache=False)
        cached = cache_dir("clic")
        if cached.is_dir():
            return Location(cached, "cache", in_cache=True)
        return None

    def load(self, location: Location) -> Dataset:
        paths = list_image_files(location.root)
        if not paths:
            raise DatasetError(f"CLIC at {location.root} ({location.source}) holds no images "
                               f"({', '.join(IMAGE_SUFFIXES)})")
        sums_file = location.root / SUMS_FILE
        # The cache's list was written from the verified archive; for other copies only the shipped
        # list is trusted.
        known = read_sha256sums(sums_file) if location.in_cache and sums_file.is_file() else shipped_sha256sums("clic")
        expected = {p.name: known[p.name] for p in paths if p.name in known}
        info = {"expected_sha256": expected,
                "unverifiable": [p.name for p in paths if p.name not in known]}
        return Dataset("clic", image_refs("clic", paths), location.source, location.root, info)

    def origin(self) -> str:
        size = f", {self.archive_size / 1e6:.0f} MB" if self.archive_size else ""
        return f"download: {self.archive_url}{size}"

    def by_hand(self) -> str:
        size = f" ({self.archive_size / 1e6:.0f} MB)" if self.archive_size else ""
        return (f"download {self.archive_url}{size} into {self._archive_path().parent}/, then "
                "`elicbench fetch clic` checks and unpacks it")

    def fetch(self, *, force: bool = False, progress: bool = True) -> Path:
        target = cache_dir("clic")
        if target.is_dir() and not force:
            return target
        with provisional_dir(self._archive_path().parent):
            try:
                archive = self._archive(progress)
            except HostUnreachableError as exc:
                raise DatasetError(self.unreachable_message([exc])) from None
            self._extract(archive, target)
            archive.unlink(missing_ok=True)
        return target

    def _archive_path(self) -> Path:
        name = Path(urllib.parse.urlsplit(self.archive_url).path).name or "clic.zip"
        return cache_root() / "downloads" / name

    def _archive(self, progress: bool) -> Path:
        archive = self._archive_path()
        if archive.is_file() and self.archive_sha256 and file_sha256(archive) == self.archive_sha256:
            return archive  # put there by hand, or left by an earlier fetch whose extraction did not finish
        if not self.archive_sha256:
            log.warning("%s: no SHA-256 known for this archive; it is used unverified", self.archive_url)
        return download_file(self.archive_url, archive, sha256=self.archive_sha256, size=self.archive_size,
                             progress=progress, desc=archive.name)

    def _extract(self, archive: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".clic.", suffix=".partial"))
        try:
            files = safe_extract_zip(archive, staging, select=clic_member_name)
            if not files:
                raise DatasetError(f"{archive}: the archive holds no images")
            write_sha256sums(staging, {p.name: file_sha256(p) for p in files})
            self._install(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @staticmethod
    def _install(staging: Path, target: Path) -> None:
        """Rename ``staging`` to ``target``; an existing ``target`` (force) is moved aside first."""
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.rename(target, old)
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():  # not another process that finished first
                if old is not None:
                    os.rename(old, target)
                raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
