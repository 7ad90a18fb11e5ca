"""Visual comparison: the same crop of one image, for each codec, at about the same bpp.

The crops are made where codecs run (``elicbench run``, or ``elicbench visual RUN_DIR``: see
``elicbench.crops``) and stored in the run directory (``elicbench.cropfiles``); this module only
reads them and draws the grid, so a report needs no codec, dataset or TensorFlow. Labels give the
rate point and the whole-image bpp and PSNR of the file the crop was cut from. A run without crops
(or without crops at the asked bpp) is a note saying how to make them, never an error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..cropfiles import (DEFAULT_TARGET_BPP, INDEX_FILE, VISUAL_DIR, CropFileError, CropSet, StoredCrops, load_png,
                         read_crops, visual_dir)

TILE_LABEL_HEIGHT = 44
TILE_GAP = 8
COLUMNS = 4


@dataclass
class Tile:
    label: str
    quality: str
    bpp: float
    psnr: float
    pixels: np.ndarray


@dataclass
class VisualComparison:
    """The grid image (None when nothing could be made) and what went into it."""

    path: Path | None
    dataset: str
    image: str | None
    target_bpp: float
    crop_box: tuple[int, int, int, int] | None  # left, top, right, bottom
    tiles: list[Tile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def visual_comparison(part, dataset: str, runs: Sequence[tuple[str, Path]], out_path: Path, *,
                      target_bpp: float = DEFAULT_TARGET_BPP) -> VisualComparison:
    """Make the comparison grid PNG at ``out_path`` from the crops the runs stored.

    ``part``: one dataset's combined results (``analysis.runs.combined_results``: ``run``,
    ``codec_label`` and the shown name ``codec``). ``runs``: (name, run directory) of each run. The
    crops of the first run that stored some at ``target_bpp`` set the image and window; other runs'
    crops of the same image and window join them, the rest are named in the notes.
    """
    result = VisualComparison(None, dataset, None, target_bpp, None)
    shown = {(run, label): name for run, label, name in
             part[["run", "codec_label", "codec"]].drop_duplicates().itertuples(index=False)}
    chosen: tuple[str, str, tuple[int, int, int, int]] | None = None
    found: list[tuple[str, Path, CropSet]] = []
    for name, path in runs:
        if not (part["run"] == str(path)).any():
            continue
        try:
            stored = read_crops(path)
        except CropFileError as exc:
            result.notes.append(f"visual comparison skipped for run {name}: {exc}")
            continue
        crops = stored.at(target_bpp) if stored is not None else None
        if crops is None:
            result.notes.append(_how_to_get(name, path, target_bpp, stored))
            continue
        result.notes += [n for n in crops.notes if n not in result.notes]
        if not crops.tiles:
            continue
        where = (stored.dataset, stored.image, stored.crop_box)
        if chosen is None:
            try:
                original = load_png(visual_dir(path) / stored.original)
            except OSError as exc:
                result.notes.append(f"visual comparison skipped for run {name}: {exc}")
                continue
            chosen = where
            result.image, result.crop_box = stored.image, stored.crop_box
            result.tiles.append(Tile("original", "", math.nan, math.inf, original))
        elif where != chosen:
            result.notes.append(f"run {name}: its crops show {stored.image} at {stored.crop_box}, not "
                                f"{result.image} at {result.crop_box}; not shown")
            continue
        found.append((name, path, crops))
    tiles = []
    for name, path, crops in found:
        for t in crops.tiles:
            try:
                pixels = load_png(visual_dir(path) / t.file)
            except OSError as exc:
                result.notes.append(f"run {name}: {t.codec} not shown ({exc})")
                continue
            tiles.append(Tile(shown.get((str(path), t.codec), t.codec), t.quality, t.bpp, t.psnr, pixels))
    result.tiles += sorted(tiles, key=lambda t: t.label)
    if len(result.tiles) < 2:
        return result
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    _grid(result.tiles).save(out_path, format="PNG", optimize=True)
    result.path = out_path
    return result


def _how_to_get(name: str, path: Path, target_bpp: float, stored: StoredCrops | None) -> str:
    """Why a run has no crops at ``target_bpp``, and the command that makes them."""
    option = f" --target-bpp {target_bpp:g}" if target_bpp != DEFAULT_TARGET_BPP else ""
    command = f"`elicbench visual {path}{option}`"
    if stored is None:
        return (f"visual comparison skipped: not available for run {name} (its run directory holds no crops, "
                f"{VISUAL_DIR}/{INDEX_FILE}: written before runs stored them, or with --no-visual); "
                f"make them with {command}")
    held = ", ".join(f"{t:g}" for t in stored.targets) or "none"
    return (f"visual comparison skipped for run {name}: it holds crops at {held} bpp, not at {target_bpp:g} bpp; "
            f"make them with {command}")


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _fitting_font(draw, text: str, width: int, font):
    """``font``, or a smaller size of it, so that ``text`` (e.g. 'elic (demo weights)  q=0.0032') fits the tile."""
    size = getattr(font, "size", None)
    if size is None or not hasattr(draw, "textlength"):
        return font
    while size > 9 and draw.textlength(text, font=font) > width:
        size -= 1
        font = _font(size)
    return font


def _grid(tiles: list[Tile]):
    from PIL import Image, ImageDraw

    th, tw = tiles[0].pixels.shape[:2]
    cols = min(COLUMNS, len(tiles))
    rows = math.ceil(len(tiles) / cols)
    cell_w, cell_h = tw + TILE_GAP, th + TILE_LABEL_HEIGHT + TILE_GAP
    canvas = Image.new("RGB", (cols * cell_w + TILE_GAP, rows * cell_h + TILE_GAP), "white")
    draw = ImageDraw.Draw(canvas)
    title_font, info_font = _font(15), _font(13)
    for i, tile in enumerate(tiles):
        x = TILE_GAP + (i % cols) * cell_w
        y = TILE_GAP + (i // cols) * cell_h
        canvas.paste(Image.fromarray(np.ascontiguousarray(tile.pixels)), (x, y))
        name = tile.label if not tile.quality else f"{tile.label}  q={tile.quality}"
        info = "reference" if tile.label == "original" else f"{tile.bpp:.3f} bpp   {tile.psnr:.2f} dB PSNR"
        draw.text((x, y + th + 4), name, fill="black", font=_fitting_font(draw, name, tw, title_font))
        draw.text((x, y + th + 23), info, fill="#444444", font=info_font)
    return canvas
