"""Visual comparison: the same crop of one image, for each codec, at about the same bpp.

For each codec the rate point is the one whose measured bpp *on that image* (results.csv) is
closest to the target; the image is re-encoded at that point with the codec and settings the
run's manifest records, decoded, and cropped. The crop is the ``crop``x``crop`` window with the
most detail (largest mean gradient magnitude of the original's luma, on a 16-pixel grid), where
compression differences show. Labels give the whole-image bpp and PSNR of the re-encoded file.
A codec or image that cannot be had here is skipped with a note, never an error.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

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


def detailed_crop(image: np.ndarray, size: int = 256, step: int = 16) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the size x size window with the largest mean gradient magnitude."""
    h, w = image.shape[:2]
    cw, ch = min(size, w), min(size, h)
    luma = image[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    gy, gx = np.gradient(luma)
    energy = np.hypot(gx, gy)
    # Integral image: the sum over any window in O(1).
    integral = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    best, best_box = -1.0, (0, 0, cw, ch)
    for top in range(0, h - ch + 1, step):
        for left in range(0, w - cw + 1, step):
            s = (integral[top + ch, left + cw] - integral[top, left + cw]
                 - integral[top + ch, left] + integral[top, left])
            if s > best:
                best, best_box = s, (left, top, left + cw, top + ch)
    return best_box


def psnr_rgb(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


def _image_path(dataset: str, image: str, manifest: dict[str, Any], notes: list[str]) -> Path | None:
    """The image file: from the manifest's dataset root, else the dataset lookup (no download)."""
    info = manifest.get("dataset") or {}
    entry = next((e for e in info.get("images", []) if e.get("name") == image), {})
    root = info.get("root")
    if root and entry.get("file") and (Path(root) / entry["file"]).is_file():
        path = Path(root) / entry["file"]
    else:
        try:
            from ..datasets import resolve_dataset

            found = resolve_dataset(info.get("name") or dataset, download=False)
        except Exception as exc:  # any lookup failure only costs the visual comparison
            notes.append(f"visual comparison skipped: dataset {dataset!r} not available here ({exc})")
            return None
        ref = next((r for r in found.images if r.name == image), None)
        if ref is None:
            notes.append(f"visual comparison skipped: image {image!r} not found in dataset {dataset!r}")
            return None
        path = Path(ref.path)
    expected = entry.get("sha256")
    if expected and hashlib.sha256(path.read_bytes()).hexdigest() != expected:
        notes.append(f"{path}: differs from the file the run used (SHA-256 mismatch); crops may not match the results")
    return path


def _load_image(path: Path) -> np.ndarray:
    from ..datasets.images import load_rgb

    loaded = load_rgb(path)
    return loaded[0] if isinstance(loaded, tuple) else loaded


def _make_codec(label: str, row: dict[str, Any], manifests: dict[str, dict[str, Any]]):
    """Instantiate the codec a results row was made with (manifest settings, else the settings column)."""
    from ..codecs import get_codec

    described = manifests.get(label)
    if described:
        name, settings = described.get("name") or label.split("[")[0], dict(described.get("settings") or {})
    else:
        name = str(row.get("codec_label") or label).split("[")[0]
        text = str(row.get("codec_settings") or "")
        settings = dict(item.split("=", 1) for item in text.split(";") if "=" in item)
    cls = get_codec(name)
    available = cls.availability()
    if not available:
        raise RuntimeError(f"not available here: {available.reason}")
    return cls(**settings)


def visual_comparison(results_df, dataset: str, manifests: dict[str, dict[str, Any]], out_path: Path, *,
                      target_bpp: float = 0.5, crop: int = 256, image: str | None = None,
                      dataset_manifest: dict[str, Any] | None = None) -> VisualComparison:
    """Make the comparison grid PNG at ``out_path``.

    ``results_df``: one dataset's results (columns of results.csv). ``manifests``: codec label
    (as in ``results_df``) -> the run manifest's entry for that codec (``name``, ``settings``).
    ``dataset_manifest``: the manifest (its ``dataset`` entry locates and verifies the image).
    ``image``: which image (default: the first, by name, that every codec coded without error).
    """
    result = VisualComparison(None, dataset, None, target_bpp, None)
    ok = results_df[(results_df["error"] == "") & np.isfinite(results_df["bpp"].astype(float))]
    if ok.empty:
        result.notes.append("visual comparison skipped: no successful results")
        return result
    codecs = sorted(ok["codec"].unique())
    if image is None:
        per_image = ok.groupby("image")["codec"].nunique()
        everywhere = sorted(per_image[per_image == len(codecs)].index) or sorted(per_image.index)
        image = everywhere[0]
    result.image = image
    path = _image_path(dataset, image, dataset_manifest or {}, result.notes)
    if path is None:
        return result
    try:
        original = _load_image(path)
    except Exception as exc:
        result.notes.append(f"visual comparison skipped: cannot read {path} ({exc})")
        return result
    box = detailed_crop(original, crop)
    result.crop_box = box
    left, top, right, bottom = box
    result.tiles.append(Tile("original", "", math.nan, math.inf, original[top:bottom, left:right]))

    for label in codecs:
        rows = ok[(ok["codec"] == label) & (ok["image"] == image)]
        if rows.empty:
            result.notes.append(f"{label}: no successful result for {image}; not shown")
            continue
        row = rows.loc[(rows["bpp"].astype(float) - target_bpp).abs().idxmin()].to_dict()
        quality = float(row["quality"])
        try:
            codec = _make_codec(label, row, manifests)
            data = codec.encode(original, codec.validate_quality(quality))
            decoded = np.asarray(codec.decode(data))
        except Exception as exc:  # unavailable codec, missing model ...: skip this one
            result.notes.append(f"{label}: not re-encoded ({type(exc).__name__}: {exc}); not shown")
            continue
        if decoded.shape != original.shape:
            result.notes.append(f"{label}: decoded shape {decoded.shape} differs from {original.shape}; not shown")
            continue
        bpp = 8.0 * len(data) / (original.shape[0] * original.shape[1])
        if np.isfinite(row.get("bytes", math.nan)) and int(row["bytes"]) != len(data):
            result.notes.append(f"{label}: re-encoded file is {len(data)} bytes, the run recorded {int(row['bytes'])} "
                                f"(different library version or a non-deterministic codec)")
        result.tiles.append(Tile(label, f"{quality:g}", bpp, psnr_rgb(original, decoded),
                                 decoded[top:bottom, left:right]))
    if len(result.tiles) < 2:
        result.notes.append("visual comparison: no codec could be re-encoded here")
        return result
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    _grid(result.tiles).save(out_path, format="PNG", optimize=True)
    result.path = out_path
    return result


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
