"""The visual-comparison crops a run directory stores (``visual/``), and how they are read back.

``elicbench run`` (and ``elicbench visual RUN_DIR`` for a run written before crops were stored)
codes one image once more per codec, at the rate point whose measured bpp on that image is closest
to a target, and keeps the same window of each decoded image (see ``elicbench.crops``). What it
writes, and all the report reads (no codec, dataset or TensorFlow is needed to read it):

- ``visual/index.json``: ``format`` ("elicbench-visual"), ``dataset``, ``image``, ``crop_box``
  ([left, top, right, bottom] in the image's pixels), ``original`` (the file of the original's
  window) and ``sets``: one per target bpp, each with ``target_bpp``, ``seconds`` (what coding the
  crops took), ``notes`` (what could not be shown and why) and ``tiles``: per codec its results.csv
  label (``codec``), ``quality`` (as results.csv writes it), ``bytes``, ``bpp`` and ``psnr`` of the
  whole image coded again (``elicbench.metrics``; "inf" when lossless) and ``file``.
- one PNG per tile and one for the original's window, next to it.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UserError

VISUAL_DIR = "visual"
INDEX_FILE = "index.json"
FORMAT = "elicbench-visual"
DEFAULT_TARGET_BPP = 0.5   # what `run` stores and `report` shows


class CropFileError(UserError, ValueError):
    """A run directory's visual/index.json that cannot be read as one."""


@dataclass
class CropTile:
    """One codec's crop: ``codec`` is its label in results.csv; bpp and PSNR are the whole image's."""

    codec: str
    quality: str
    bytes: int
    bpp: float
    psnr: float
    file: str


@dataclass
class CropSet:
    """The crops of every codec at one target bpp."""

    target_bpp: float
    tiles: list[CropTile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class StoredCrops:
    """What ``visual/index.json`` holds (paths relative to the ``visual/`` folder)."""

    dataset: str
    image: str
    crop_box: tuple[int, int, int, int]   # left, top, right, bottom
    original: str
    sets: list[CropSet] = field(default_factory=list)

    def at(self, target_bpp: float) -> CropSet | None:
        """The set made for ``target_bpp`` (None when there is none)."""
        return next((s for s in self.sets if math.isclose(s.target_bpp, target_bpp, rel_tol=1e-9)), None)

    @property
    def targets(self) -> list[float]:
        return sorted(s.target_bpp for s in self.sets)


def visual_dir(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / VISUAL_DIR


def _safe(text: str) -> str:
    """``text`` as part of a file name (labels may hold '[', '=', ':', '/')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def tile_file(target_bpp: float, index: int, label: str) -> str:
    """The file of a codec's crop."""
    return f"{target_bpp:g}bpp-{index:02d}-{_safe(label)}.png"


def original_file(image: str) -> str:
    """The file of the original's window."""
    return f"original-{_safe(image)}.png"


def save_png(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(pixels)).save(path, format="PNG", optimize=True)


def load_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def write_index(run_dir: str | os.PathLike, stored: StoredCrops) -> Path:
    """Write ``visual/index.json`` atomically (the PNGs it names must be written first)."""
    folder = visual_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    data = {"format": FORMAT, **asdict(stored)}
    data["crop_box"] = list(stored.crop_box)
    for s in data["sets"]:
        for t in s["tiles"]:
            t["psnr"] = "inf" if math.isinf(t["psnr"]) else t["psnr"]
    path = folder / INDEX_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_crops(run_dir: str | os.PathLike) -> StoredCrops | None:
    """The run's stored crops; None when it has none (a run written before crops were stored, or
    with --no-visual). CropFileError when visual/index.json is not one elicbench wrote."""
    path = visual_dir(run_dir) / INDEX_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not an {FORMAT} index")
        sets = [CropSet(float(s["target_bpp"]),
                        [CropTile(str(t["codec"]), str(t["quality"]), int(t["bytes"]), _number(t["bpp"]),
                                  _number(t["psnr"]), str(t["file"])) for t in s.get("tiles", [])],
                        [str(n) for n in s.get("notes", [])], float(s.get("seconds", 0.0)))
                for s in data.get("sets", [])]
        left, top, right, bottom = (int(v) for v in data["crop_box"])
        return StoredCrops(str(data["dataset"]), str(data["image"]), (left, top, right, bottom),
                           str(data["original"]), sets)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise CropFileError(f"{path}: cannot read it ({type(exc).__name__}: {exc})") from None
