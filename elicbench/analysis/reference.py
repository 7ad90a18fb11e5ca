"""Published RD curves shipped with elicbench (``elicbench/data/reference/<dataset>/``).

Each ``NAME.csv`` holds mean-over-images points (``bpp,psnr_rgb,ms_ssim``); ``SOURCE.md`` in the
same folder says where each came from. A reference curve can be an anchor (``ref:vtm``) or an
extra plotted curve (``--with-ref elic-paper``). They are means over the whole dataset (all 24
Kodak images), so compare them with full-dataset runs only.
"""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ..metrics import get_metric
from .curves import Curve, check_metric
from ..errors import UserError

#: Prefix that marks a reference curve where a codec label is expected (e.g. ``--anchor ref:vtm``).
REF_PREFIX = "ref:"


class UnknownReferenceError(UserError, ValueError):
    """A reference curve or dataset name that is not shipped; the message lists what is."""


@dataclass
class RefCurve:
    name: str
    dataset: str
    bpp: np.ndarray
    psnr: np.ndarray
    ms_ssim: np.ndarray
    #: What it is and where it comes from (the row of SOURCE.md: 'what; where').
    source: str
    #: The two halves of ``source``: what the curve is ('VVC reference software VTM, ...') and
    #: where the points come from ('InterDigitalInc/CompressAI results/image/kodak/vtm.json @ 869a9f5 ...').
    description: str = ""
    origin: str = ""

    @property
    def short_origin(self) -> str:
        """Repository and commit only, e.g. 'InterDigitalInc/CompressAI @ 869a9f5' (for plot footers)."""
        if not self.origin:
            return "source not recorded"
        repo = self.origin.split()[0]
        found = re.search(r"@\s*([0-9a-f]{7,40})", self.origin)
        return f"{repo} @ {found.group(1)}" if found else repo

    @property
    def ms_ssim_db(self) -> np.ndarray:
        shown = get_metric("ms_ssim").display[3]   # the metric's own display transform (dB)
        return np.array([shown(float(v)) for v in self.ms_ssim])

    @property
    def label(self) -> str:
        return REF_PREFIX + self.name

    def curve(self, metric: str = "psnr") -> Curve:
        """This reference as a :class:`Curve` of ``metric`` ('psnr', 'ms_ssim_db' or 'ms_ssim')."""
        check_metric(metric)
        values = {"psnr": self.psnr, "ms_ssim": self.ms_ssim, "ms_ssim_db": self.ms_ssim_db}
        if metric not in values:
            raise ValueError(f"reference curve {self.name!r} has no {metric}; published curves give psnr and ms_ssim")
        order = np.argsort(self.bpp, kind="stable")
        return Curve(self.label, self.bpp[order], values[metric][order], f"published: {self.source}", metric)


def _reference_root():
    return resources.files("elicbench").joinpath("data", "reference")


def reference_datasets() -> list[str]:
    root = _reference_root()
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def published_image_count(dataset: str) -> int | None:
    """How many images the published curves of ``dataset`` average over, as the first line of its
    SOURCE.md states it ('... on Kodak (24 images, ...'); None when it does not say."""
    if dataset not in reference_datasets():
        return None
    source_md = _reference_root().joinpath(dataset, "SOURCE.md")
    if not source_md.is_file():
        return None
    first = source_md.read_text(encoding="utf-8").split("\n", 1)[0]
    found = re.search(r"\((\d+) images\b", first)
    return int(found.group(1)) if found else None


def _source_rows(folder) -> dict[str, tuple[str, str]]:
    """file name -> (what, source) from the table in SOURCE.md; backquotes dropped from the source."""
    source_md = folder.joinpath("SOURCE.md")
    rows: dict[str, tuple[str, str]] = {}
    if not source_md.is_file():
        return rows
    repo = commit = ""
    for line in source_md.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].endswith(".csv"):
            continue
        source = cells[2]
        if source.startswith("same repo") and repo:
            # Rows after the first say "same repo, `path`": spell the repository and commit out.
            source = f"{repo} {source[len('same repo'):].lstrip(', ')}" + (f" @ {commit}" if commit else "")
        else:
            repo = source.split()[0] if source else ""
            found = re.search(r"@\s*([0-9a-f]{7,40})", source)
            commit = found.group(1) if found else ""
        rows[cells[0]] = (cells[1], source.replace("`", ""))
    return rows


def _read_points(text: str, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    reader = csv.DictReader(io.StringIO(text))
    needed = {"bpp", "psnr_rgb", "ms_ssim"}
    if not reader.fieldnames or not needed <= set(reader.fieldnames):
        raise ValueError(f"{where}: expected columns {', '.join(sorted(needed))}")
    rows = [(float(r["bpp"]), float(r["psnr_rgb"]), float(r["ms_ssim"])) for r in reader]
    if not rows or not all(math.isfinite(v) for row in rows for v in row):
        raise ValueError(f"{where}: no points, or a value that is not a number")
    bpp, psnr, ms_ssim = (np.array(col, dtype=float) for col in zip(*rows))
    for arr in (bpp, psnr, ms_ssim):
        arr.flags.writeable = False  # shared by every caller through the cache
    return bpp, psnr, ms_ssim


@lru_cache(maxsize=None)
def _load(dataset: str) -> dict[str, RefCurve]:
    known = reference_datasets()
    if dataset not in known:
        raise UnknownReferenceError(
            f"no published reference curves for dataset {dataset!r}; available for: {', '.join(known)}")
    folder = _reference_root().joinpath(dataset)
    sources = _source_rows(folder)
    curves: dict[str, RefCurve] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".csv"):
            continue
        name = entry.name[: -len(".csv")]
        bpp, psnr, ms_ssim = _read_points(entry.read_text(encoding="utf-8"), f"reference {dataset}/{entry.name}")
        what, origin = sources.get(entry.name, ("", ""))
        source = f"{what}; {origin}" if origin else "source not recorded"
        curves[name] = RefCurve(name, dataset, bpp, psnr, ms_ssim, source, what, origin)
    return curves


def reference_curves(dataset: str = "kodak") -> dict[str, RefCurve]:
    """All shipped reference curves of a dataset, by name (the CSV file's stem)."""
    return dict(_load(dataset))


def reference_curve(name: str, dataset: str = "kodak") -> RefCurve:
    """One reference curve; ``name`` may carry the ``ref:`` prefix. Unknown names list the known ones."""
    bare = name[len(REF_PREFIX):] if name.startswith(REF_PREFIX) else name
    curves = _load(dataset)
    if bare not in curves:
        raise UnknownReferenceError(
            f"unknown reference curve {bare!r} for {dataset}; known: {', '.join(sorted(curves))}")
    return curves[bare]


def check_reference_names(names) -> list[str]:
    """The names without ``ref:`` prefixes; UnknownReferenceError for one no dataset ships."""
    bare = [n[len(REF_PREFIX):] if n.startswith(REF_PREFIX) else n for n in names]
    known = {name for dataset in reference_datasets() for name in _load(dataset)}
    unknown = [n for n in bare if n not in known]
    if unknown:
        raise UnknownReferenceError(
            f"unknown reference curve(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}")
    return bare
