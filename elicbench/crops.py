"""Making the visual-comparison crops of a run: where codecs run, never in the report.

After a run's jobs finish, ``elicbench run`` picks one image (by default the first, by name, that
every codec coded without error) and, per codec, the rate point whose measured bpp on that image
(results.csv) is closest to the target (0.5 bpp). It codes that image once more at that point, in a
worker process, and keeps the ``crop`` x ``crop`` window with the most detail (largest mean gradient
magnitude of the original's luma, on a 16-pixel grid), where compression differences show. The
crops and their index go into the run directory (``elicbench.cropfiles``); the report only reads
them. ``elicbench visual RUN_DIR`` does the same for a finished run (one written before runs stored
crops, or at another target bpp), with the codecs and image its manifest records.

Whatever cannot be had (a codec failing, an image missing) becomes a note stored with the crops,
never an error of the run.
"""
from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .codecs.base import format_quality
from .cropfiles import (DEFAULT_TARGET_BPP, CropSet, CropTile, StoredCrops, original_file, read_crops, save_png,
                        tile_file, visual_dir, write_index)
from .datasets.base import ImageRef
from .jobs import CodecSpec

DEFAULT_CROP = 256
NO_RESULTS = "visual comparison skipped: no successful results"


def detailed_crop(image: np.ndarray, size: int = DEFAULT_CROP, step: int = 16) -> tuple[int, int, int, int]:
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


def _coded(results) -> "pandas.DataFrame":
    return results[(results["error"] == "") & np.isfinite(results["bpp"].astype(float))]


def choose_image(results) -> str | None:
    """The first image, by name, that every codec coded without error (else the first coded at all)."""
    ok = _coded(results)
    if ok.empty:
        return None
    per_image = ok.groupby("image")["codec"].nunique()
    everywhere = sorted(per_image[per_image == ok["codec"].nunique()].index) or sorted(per_image.index)
    return everywhere[0]


def nearest_row(results, label: str, image: str, target_bpp: float) -> dict[str, Any] | None:
    """The coded row of ``label`` on ``image`` whose bpp is closest to ``target_bpp`` (None if none)."""
    ok = _coded(results)
    rows = ok[(ok["codec"] == label) & (ok["image"] == image)]
    if rows.empty:
        return None
    return rows.loc[(rows["bpp"].astype(float) - target_bpp).abs().idxmin()].to_dict()


@dataclass(frozen=True)
class CropJob:
    """One codec to code the crop image with (picklable: it goes to a worker)."""

    label: str                     # the codec's label in results.csv
    codec: CodecSpec
    quality: float


def code_crops(ref: ImageRef, box: tuple[int, int, int, int], jobs: Sequence[CropJob]) -> list[dict[str, Any]]:
    """Code the image ``ref`` with each job's codec and quality; keep ``box`` of each decoded image.
    Runs in a worker process, with the worker's codecs and images (see ``elicbench.worker``). Per job:
    ``bytes``, ``bpp``, ``psnr`` of the whole image (``elicbench.metrics``) and ``pixels`` (the
    window), or ``error``."""
    from . import metrics
    from .worker import worker_codec, worker_image

    image, _ = worker_image(ref)
    h, w = image.shape[:2]
    left, top, right, bottom = box
    out = []
    for job in jobs:
        try:
            codec = worker_codec(job.codec)
            data = codec.encode(image, codec.validate_quality(job.quality))
            decoded = np.asarray(codec.decode(data))
            if decoded.shape != image.shape:
                raise ValueError(f"decoded shape {decoded.shape} differs from {image.shape}")
        except Exception as exc:  # unavailable codec, missing model ...: this codec is not shown
            out.append({"error": f"{type(exc).__name__}: {exc}"})
            continue
        out.append({"bytes": len(data), "bpp": metrics.bits_per_pixel(len(data), w, h),
                    "psnr": metrics.psnr(image, decoded), "pixels": decoded[top:bottom, left:right].copy()})
    return out


def run_in_process(fn: Callable, *args: Any) -> Any:
    return fn(*args)


def store_crops(run_dir: str | Path, results, dataset: str, ref: ImageRef, specs: Mapping[str, CodecSpec], *,
                target_bpps: Sequence[float] = (DEFAULT_TARGET_BPP,), crop: int = DEFAULT_CROP,
                notes: Sequence[str] = (), submit: Callable[..., Any] = run_in_process) -> StoredCrops:
    """Make and store the crops of image ``ref`` for every codec of ``specs`` (results label -> how
    to create it), at each of ``target_bpps``, into ``run_dir``/visual.

    ``results``: the run's results (``load_results``), which give each codec's rate point.
    ``submit(code_crops, ...)`` runs the coding (in a worker process for runs). Sets stored before at
    other targets for the same image and window are kept. Returns what was stored (when the image
    cannot be read: only a note saying so).
    """
    from .datasets import load_rgb

    image = ref.name
    try:
        original, _ = load_rgb(ref)
    except Exception as exc:
        return store_notes(run_dir, dataset, image, target_bpps,
                           [*notes, f"visual comparison skipped: cannot read {ref.path} ({exc})"])
    box = detailed_crop(original, crop)
    left, top, right, bottom = box
    folder = visual_dir(run_dir)
    try:
        previous = read_crops(run_dir)
    except ValueError:
        previous = None
    if previous is not None and (previous.dataset, previous.image, previous.crop_box) != (dataset, image, box):
        _remove_files(folder, [previous.original] + [t.file for s in previous.sets for t in s.tiles])
        previous = None
    stored = previous or StoredCrops(dataset, image, box, original_file(image))
    save_png(folder / stored.original, original[top:bottom, left:right])

    for target in target_bpps:
        t0 = time.monotonic()
        made = CropSet(float(target), notes=list(notes))
        jobs, rows = [], []
        for label, spec in specs.items():
            row = nearest_row(results, label, image, target)
            if row is None:
                made.notes.append(f"{label}: no successful result for {image}; not shown")
                continue
            jobs.append(CropJob(label, spec, float(row["quality"])))
            rows.append(row)
        try:
            coded = submit(code_crops, ref, box, jobs) if jobs else []
        except Exception as exc:  # the worker died (a codec crashing the interpreter ...)
            coded = [{"error": f"{type(exc).__name__}: {exc}"}] * len(jobs)
        for i, (job, row, got) in enumerate(zip(jobs, rows, coded)):
            if "error" in got:
                made.notes.append(f"{job.label}: not re-encoded ({got['error']}); not shown")
                continue
            recorded = row.get("bytes", math.nan)
            if np.isfinite(recorded) and int(recorded) != got["bytes"]:
                made.notes.append(f"{job.label}: re-encoded file is {got['bytes']} bytes, the run recorded "
                                  f"{int(recorded)} (different library version or a non-deterministic codec)")
            name = tile_file(target, i, job.label)
            save_png(folder / name, got["pixels"])
            made.tiles.append(CropTile(job.label, format_quality(job.quality), got["bytes"], got["bpp"],
                                       got["psnr"], name))
        if not made.tiles:
            made.notes.append("visual comparison: no codec could be re-encoded here")
        made.seconds = round(time.monotonic() - t0, 3)
        old = stored.at(target)
        if old is not None:
            _remove_files(folder, [t.file for t in old.tiles if t.file not in {n.file for n in made.tiles}])
            stored.sets.remove(old)
        stored.sets.append(made)
    stored.sets.sort(key=lambda s: s.target_bpp)
    write_index(run_dir, stored)
    return stored


def _remove_files(folder: Path, names: Sequence[str]) -> None:
    for name in names:
        try:
            (folder / name).unlink()
        except OSError:
            pass


def store_notes(run_dir, dataset: str, image: str | None, target_bpps: Sequence[float],
                notes: list[str]) -> StoredCrops:
    """An index with no crops, only why there are none (the report says it)."""
    stored = StoredCrops(dataset, image or "", (0, 0, 0, 0), "",
                         [CropSet(float(t), notes=list(notes)) for t in target_bpps])
    write_index(run_dir, stored)
    return stored


# ---- a finished run directory (elicbench visual) -----------------------------------------------
def _image_path(dataset: str, image: str, manifest: dict[str, Any], notes: list[str]) -> Path | None:
    """The image file: from the manifest's dataset root, else the dataset lookup (no download)."""
    info = manifest.get("dataset") or {}
    entry = next((e for e in info.get("images", []) if e.get("name") == image), {})
    root = info.get("root")
    if root and entry.get("file") and (Path(root) / entry["file"]).is_file():
        path = Path(root) / entry["file"]
    else:
        try:
            from .datasets import resolve_dataset

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


def _manifest_codec(label: str, described: dict[str, Any], options: dict[str, Any]) -> CodecSpec:
    """How to create the codec the run's manifest describes under ``label`` (its recorded settings,
    with ``options`` on top)."""
    return CodecSpec(str(described.get("name") or label),
                     tuple(sorted({**(described.get("settings") or {}), **options}.items())))


def crops_for_run(run_dir: str | Path, *, target_bpps: Sequence[float] = (DEFAULT_TARGET_BPP,),
                  crop: int = DEFAULT_CROP, image: str | None = None,
                  options: Mapping[str, Mapping[str, Any]] | None = None) -> StoredCrops:
    """Make the crops of a finished run (``elicbench visual``), in this process: the codecs its
    manifest records (``options``: codec name -> settings to change, e.g. ``{"elic": {"models": DIR}}``),
    the image from the dataset its manifest records (checked against the recorded SHA-256). Holds the
    run directory's lock meanwhile (``elicbench.rundir``: RunDirBusy while a run writes there)."""
    from .rundir import RunDirLock

    run_dir = Path(run_dir)
    with RunDirLock(run_dir, ["elicbench", "visual", str(run_dir)]):
        return _crops_for_run(run_dir, target_bpps, crop, image, options or {})


def _crops_for_run(run_dir: Path, target_bpps: Sequence[float], crop: int, image: str | None,
                   options: Mapping[str, Mapping[str, Any]]) -> StoredCrops:
    from .manifest import read_manifest
    from .results import MANIFEST_FILE, RESULTS_FILE, load_results

    results = load_results(run_dir / RESULTS_FILE)
    manifest = read_manifest(run_dir / MANIFEST_FILE) if (run_dir / MANIFEST_FILE).is_file() else {}
    described = manifest.get("codecs") or {}
    dataset = str((manifest.get("dataset") or {}).get("name") or next(iter(results["dataset"]), ""))
    notes: list[str] = []
    image = image or choose_image(results)
    if image is None:
        return store_notes(run_dir, dataset, None, target_bpps, [NO_RESULTS])
    path = _image_path(dataset, image, manifest, notes)
    if path is None:
        return store_notes(run_dir, dataset, image, target_bpps, notes)
    labels = sorted(_coded(results)["codec"].unique())
    specs = {}
    for label in labels:
        info = described.get(label) or {"name": label}
        specs[label] = _manifest_codec(label, info, dict(options.get(str(info.get("name") or label), {})))
    return store_crops(run_dir, results, dataset, ImageRef(dataset, image, path), specs, target_bpps=target_bpps,
                       crop=crop, notes=notes)
