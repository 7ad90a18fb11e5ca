"""Listing image files and reading them as RGB uint8: the one input every codec and metric sees.

``load_rgb`` returns the pixels and a short text naming every conversion it made ('' when the file
already was 8-bit RGB), so a run can record that e.g. an image was 16-bit.

Normalisation policy
--------------------
- 8-bit RGB: used as stored.
- Grayscale ``L`` and bilevel ``1``: the value is replicated into R, G and B ("gray->rgb", "1bit->rgb").
- Palette ``P`` / ``PA``: expanded through the palette ("palette->rgb"); palette transparency is
  dropped like alpha ("palette->rgb(transparency dropped)").
- 16 bits per sample (PNG gray/RGB/RGBA/gray+alpha, PGM/PPM, TIFF): rounded to 8 bits as
  round(v / 257) ("16bit->8bit"), which maps 0..65535 onto 0..255 and maps 257*b back to b exactly.
  Pillow 13 opens 16-bit RGB(A) PNG and TIFF files as 8-bit RGB(A) by keeping only the high byte
  (truncation, and silently); we decode the file a second time with the byte order swapped to get
  the low byte and round properly.
- Alpha (``RGBA``, ``LA``): dropped, the colour values are kept as stored
  ("rgba->rgb(alpha dropped)", "gray+alpha->rgb(alpha dropped)"; "(opaque alpha dropped)" when every
  alpha is the maximum, so nothing was lost). Compositing over a background would invent pixel values that no codec was
  asked to code; every codec gets the same RGB, which is what the benchmark compares.
- CMYK, YCbCr and other colour spaces Pillow converts: Pillow's conversion to RGB ("cmyk->rgb").
- 32-bit integer and floating-point images (``I`` without a 16-bit source, ``F``): refused with
  ImageLoadError, since there is no agreed mapping to 8 bits.
- EXIF orientation is NOT applied: pixels are compared as stored, as CompressAI and the published
  Kodak/CLIC results do; rotating would make width x height (and so bpp) differ from what other tools
  report for the same file. ICC profiles are not applied either: pixel values are used as stored
  (every codec gets the same values, and no codec here writes the profile into its file).
  :func:`ignored_metadata` says what a file carries that was so ignored; the run records it per image
  in the manifest and warns once (:func:`ignored_metadata_warning`; an sRGB profile is recorded but
  not warned about, since the stored values are sRGB either way).
- Multi-frame files (GIF, multi-page TIFF): the first frame ("frame 1 of N").

A file that cannot be read (missing, a broken symbolic link, not an image, corrupt, truncated)
raises ``ImageLoadError("<path>: cannot read image: <reason>")``; in a run it becomes an error row.
"""
from __future__ import annotations

import errno
import hashlib
import io
import os
import sys
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from PIL import Image

from .base import ImageLoadError, ImageRef

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".tif", ".tiff", ".bmp", ".webp")

_NATIVE = "L" if sys.byteorder == "little" else "B"

# Pillow's rawmode for 16-bit colour data that it reduces to 8 bits by keeping the high byte ->
# (rawmode that decodes the same bytes keeping the low byte instead, colour channels of that second
# decode holding the low bytes, its channel holding the alpha low byte or None, what the file was).
_LOW_BYTE_DECODE: dict[str, tuple[str, tuple[int, int, int], int | None, str]] = {
    "RGB;16B": ("RGB;16L", (0, 1, 2), None, "rgb"),
    "RGB;16L": ("RGB;16B", (0, 1, 2), None, "rgb"),
    "RGBA;16B": ("RGBA;16L", (0, 1, 2), 3, "rgba"),
    "RGBA;16L": ("RGBA;16B", (0, 1, 2), 3, "rgba"),
    # A 16-bit gray+alpha PNG is opened as RGBA with R=G=B=gray high byte. Plain 'RGBA' has the
    # same 4 bytes per pixel and hands back the raw bytes: gray high, gray low, alpha high, alpha low.
    "LA;16B": ("RGBA", (1, 1, 1), 3, "gray+alpha"),
}


def list_image_files(directory: Path) -> list[Path]:
    """Image files directly in ``directory`` (not recursive), sorted by file name.

    Hidden files (e.g. macOS ``._name.png`` resource forks) and directories are skipped. A symbolic
    link with an image suffix is listed even when its target is missing (a broken link): reading it
    then fails, so the run shows it as an error row rather than leaving the image out unnoticed.
    """
    return sorted(
        (p for p in directory.iterdir()
         if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
         and (p.is_file() or _broken_link(p))),
        key=lambda p: p.name,
    )


def _broken_link(path: Path) -> bool:
    """A symbolic link whose target does not exist (or that loops)."""
    return path.is_symlink() and not path.exists()


def _broken_link_text(path: Path) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"symbolic link to {target} that loops back on itself"
    return f"broken symbolic link to {target} (the target does not exist)"


def unreadable_reason(path: Path, exc: BaseException | None = None) -> str:
    """Why ``path`` cannot be read, in words: a broken link, else the OS error."""
    if _broken_link(Path(path)):
        return _broken_link_text(Path(path))
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) if exc is not None else "cannot be read"


def load_rgb(ref: ImageRef | Path | str) -> tuple[np.ndarray, str]:
    """Read one image as a C-contiguous (H, W, 3) uint8 RGB array, plus what was converted."""
    path = Path(ref.path if isinstance(ref, ImageRef) else ref)
    if _broken_link(path):
        raise ImageLoadError(f"{path}: cannot read image: {unreadable_reason(path)}")
    try:
        with Image.open(path) as im:
            return _to_rgb(im, path)
    except ImageLoadError:
        raise
    except Exception as exc:  # Pillow raises many types for corrupt data; all mean "unreadable"
        raise ImageLoadError(f"{path}: cannot read image: {_reason(exc)}") from exc


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _tile_rawmodes(im: Image.Image) -> set[str]:
    modes = set()
    for tile in im.tile:
        args = tile.args
        first = args if isinstance(args, str) else (args[0] if args else None)
        if isinstance(first, str):
            modes.add(first.replace(";16N", f";16{_NATIVE}"))
    return modes


def _with_rawmode(im: Image.Image, rawmode: str) -> None:
    tiles = []
    for tile in im.tile:
        args = rawmode if isinstance(tile.args, str) else (rawmode, *tile.args[1:])
        tiles.append(tile._replace(args=args))
    im.tile = tiles


def _round16(v: np.ndarray) -> np.ndarray:
    """round(v / 257) for 0..65535, in integers (half rounds up)."""
    v = v.astype(np.uint32)
    return ((2 * v + 257) // 514).astype(np.uint8)


def _to_rgb(im: Image.Image, path: Path) -> tuple[np.ndarray, str]:
    notes: list[str] = []
    n_frames = getattr(im, "n_frames", 1)
    if n_frames > 1:
        notes.append(f"frame 1 of {n_frames}")
    rawmodes = _tile_rawmodes(im)
    sixteen_bit_source = any(";16" in m for m in rawmodes)
    # Pillow's PPM/PGM decoder scales samples with maxval > 255 itself: colour to 8 bits (rounding),
    # gray to 0..65535 in mode I.
    ppm_args = im.tile[0].args if im.tile and im.tile[0].codec_name == "ppm" else None
    wide_ppm = isinstance(ppm_args, tuple) and len(ppm_args) > 1 and isinstance(ppm_args[1], int) \
        and ppm_args[1] > 255
    mode = im.mode
    im.load()

    if mode in ("RGB", "RGBA") and len(rawmodes) == 1 and next(iter(rawmodes)) in _LOW_BYTE_DECODE:
        rgb, more_notes = _sixteen_bit_colour(im, path, next(iter(rawmodes)))
        return _finish(rgb, notes + more_notes)

    if mode.startswith("I;16") or (mode == "I" and (sixteen_bit_source or wide_ppm)):
        gray = _round16(np.asarray(im))
        notes += ["16bit->8bit", "gray->rgb"]
        return _finish(np.repeat(gray[:, :, None], 3, axis=2), notes)
    if mode in ("I", "F"):
        kind = "32-bit integer" if mode == "I" else "floating-point"
        raise ImageLoadError(
            f"{path}: cannot read image: {kind} pixels (mode {mode}) have no agreed mapping to 8-bit RGB; "
            "convert the file to 8- or 16-bit PNG first")

    if mode == "RGB":
        if wide_ppm:
            notes.append("16bit->8bit")
        return _finish(np.asarray(im), notes)
    if mode == "L":
        gray = np.asarray(im)
        notes.append("gray->rgb")
        return _finish(np.repeat(gray[:, :, None], 3, axis=2), notes)
    if mode == "1":
        gray = np.asarray(im.convert("L"))
        notes.append("1bit->rgb")
        return _finish(np.repeat(gray[:, :, None], 3, axis=2), notes)
    if mode in ("P", "PA"):
        if mode == "PA" or "transparency" in im.info:
            rgba = np.asarray(im.convert("RGBA"))
            notes.append("palette->rgb" + _dropped(rgba[:, :, 3] == 255, "transparency"))
            return _finish(rgba[:, :, :3], notes)
        notes.append("palette->rgb")
        return _finish(np.asarray(im.convert("RGB")), notes)
    if mode in ("RGBA", "RGBa", "LA", "La"):
        rgba = np.asarray(im.convert("RGBA"))
        source = "rgba" if mode.startswith("RGB") else "gray+alpha"
        notes.append(f"{source}->rgb" + _dropped(rgba[:, :, 3] == 255, "alpha"))
        return _finish(rgba[:, :, :3], notes)
    try:
        rgb = np.asarray(im.convert("RGB"))
    except Exception as exc:
        raise ImageLoadError(f"{path}: cannot read image: mode {mode} cannot be converted to RGB ({exc})") from exc
    notes.append(f"{mode.lower()}->rgb")
    return _finish(rgb, notes)


def _dropped(opaque: np.ndarray, what: str) -> str:
    """'(alpha dropped)', or '(opaque alpha dropped)' when nothing was lost."""
    return f"({'opaque ' if bool(opaque.all()) else ''}{what} dropped)"


def _sixteen_bit_colour(im: Image.Image, path: Path, rawmode: str) -> tuple[np.ndarray, list[str]]:
    """8-bit RGB rounded from a 16-bit colour file that Pillow decoded to its high bytes."""
    high = np.asarray(im)
    low_rawmode, colour_channels, alpha_channel, source = _LOW_BYTE_DECODE[rawmode]
    with Image.open(path) as again:
        _with_rawmode(again, low_rawmode)
        again.load()
        low = np.asarray(again)
    rgb = _round16(high[:, :, :3].astype(np.uint32) * 256 + low[:, :, list(colour_channels)])
    if source == "rgb":
        return rgb, ["16bit->8bit"]
    alpha = high[:, :, 3].astype(np.uint32) * 256 + low[:, :, alpha_channel]
    return rgb, ["16bit->8bit", f"{source}->rgb" + _dropped(alpha == 65535, "alpha")]


def _finish(rgb: np.ndarray, notes: list[str]) -> tuple[np.ndarray, str]:
    return np.ascontiguousarray(rgb, dtype=np.uint8), ", ".join(n for n in notes if n)


# --- metadata that is ignored (recorded, not applied) ---------------------------------------------

EXIF_ORIENTATION_TAG = 0x0112
#: EXIF orientation values: how a viewer turns the stored pixels for display (1 = as stored).
EXIF_ORIENTATIONS = {
    1: "as stored", 2: "mirrored left-right", 3: "rotated 180", 4: "mirrored top-bottom",
    5: "mirrored along the main diagonal", 6: "rotated 90 clockwise", 7: "mirrored along the anti-diagonal",
    8: "rotated 90 counter-clockwise",
}


def ignored_metadata(path: Path | str) -> dict[str, Any]:
    """What a file carries that :func:`load_rgb` does not apply, for the manifest (``{}`` when nothing):

    - ``exif_orientation``: the EXIF orientation tag when it is not 1 ("as stored"), with
      ``exif_orientation_meaning`` (e.g. 6, "rotated 90 clockwise": viewers show the image turned,
      the benchmark codes the stored pixels);
    - ``icc_profile``: ``{"description", "bytes", "sha256", "srgb"}`` of an embedded ICC profile.

    Reads the header only (no pixel decoding). An unreadable file gives ``{}``: load_rgb reports it.
    """
    try:
        with Image.open(path) as im:
            orientation = im.getexif().get(EXIF_ORIENTATION_TAG)
            icc = im.info.get("icc_profile")
    except Exception:  # unreadable: the job's error row says why
        return {}
    out: dict[str, Any] = {}
    if isinstance(orientation, int) and orientation != 1:
        out["exif_orientation"] = orientation
        out["exif_orientation_meaning"] = EXIF_ORIENTATIONS.get(orientation, "not a valid orientation value")
    if isinstance(icc, bytes) and icc:
        description = _icc_description(icc)
        out["icc_profile"] = {
            "description": description, "bytes": len(icc), "sha256": hashlib.sha256(icc).hexdigest(),
            "srgb": bool(description) and "srgb" in description.lower().replace(" ", ""),
        }
    return out


def _icc_description(icc: bytes) -> str | None:
    try:
        from PIL import ImageCms

        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip() or None
    except Exception:  # no littlecms in this Pillow, or a malformed profile
        return None


def ignored_metadata_warning(images: Iterable[dict[str, Any]], *, limit: int = 3) -> str | None:
    """One sentence about the images (manifest records with ``name`` and :func:`ignored_metadata`'s
    keys) whose EXIF orientation or non-sRGB ICC profile was ignored; None when there are none."""
    rotated, profiled = [], []
    for image in images:
        if "exif_orientation" in image:
            rotated.append(f"{image.get('name')} ({image['exif_orientation']}: {image['exif_orientation_meaning']})")
        icc = image.get("icc_profile")
        if icc and not icc.get("srgb"):
            profiled.append(f"{image.get('name')} ({icc.get('description') or 'unnamed profile'})")

    def some(items: list[str]) -> str:
        return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")

    parts = []
    if rotated:
        parts.append(f"{len(rotated)} image(s) have an EXIF orientation that viewers apply, not applied here: "
                     f"{some(rotated)}")
    if profiled:
        parts.append(f"{len(profiled)} image(s) have a non-sRGB ICC profile, not applied here: {some(profiled)}")
    if not parts:
        return None
    return ("; ".join(parts) + ". elicbench codes and measures the pixels as stored (neither rotated nor "
            "colour-converted, as CompressAI and published results do); recorded per image in manifest.json "
            "(dataset.images)")
