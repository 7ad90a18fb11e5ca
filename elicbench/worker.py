"""What a worker process does with a job: create the codec, load the image, code and measure it.

``run_job`` is the function an executor runs (``elicbench.runner``); it never raises: a failure
becomes a row with ``error`` set. Each worker keeps its codec instances and the images it used
last, so consecutive jobs on one image don't reload it, and warms each codec up once per image
shape before timing it.
"""
from __future__ import annotations

import importlib
import os
import statistics
import time
import traceback
from collections import OrderedDict
from typing import Any

from . import metrics
from .codecs import format_quality, get_codec
from .codecs.base import Codec
from .datasets import load_rgb
from .datasets.base import ImageRef
from .errors import ElicbenchError
from .jobs import CodecSpec, Job
from .ratematch import search_quality


def create_codec(spec: CodecSpec) -> Codec:
    """A new instance of the codec ``spec`` describes (importing ``spec.module`` first)."""
    if spec.module:
        importlib.import_module(spec.module)
    return get_codec(spec.name)(**dict(spec.settings))


_codecs: dict[CodecSpec, Any] = {}
_images: "OrderedDict[ImageRef, tuple[Any, str]]" = OrderedDict()
_warmed: set[tuple] = set()
_IMAGE_CACHE = 4
_threads_set: int | None = None


def _limit_threads(n: int) -> None:
    """Tell libraries how many threads one job may use (before TF is first imported)."""
    global _threads_set
    if _threads_set == n:
        return
    for var in ("ELICBENCH_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    # numpy's BLAS (the metrics' colour-space products) read its thread count when loaded,
    # possibly in the parent before the fork: set it in the loaded library too, or one job already
    # uses every core.
    from threadpoolctl import threadpool_limits

    threadpool_limits(n)
    _threads_set = n


def worker_codec(spec: CodecSpec):
    """This worker's instance of the codec ``spec`` describes (created once per process)."""
    codec = _codecs.get(spec)
    if codec is None:
        codec = _codecs[spec] = create_codec(spec)
    return codec


def worker_image(ref: ImageRef):
    """(pixels, what was converted) of ``ref``; the worker keeps the last few images it loaded."""
    hit = _images.get(ref)
    if hit is not None:
        _images.move_to_end(ref)
        return hit
    hit = load_rgb(ref)
    _images[ref] = hit
    while len(_images) > _IMAGE_CACHE:
        _images.popitem(last=False)
    return hit


def _timed(fn, *args, repeats: int):
    """Median wall time of ``repeats`` calls (monotonic clock) and the last result."""
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


_metric_instances: dict[str, Any] = {}


def code_image(codec, image, quality: float, repeats: int = 1, warm: bool = True,
               metric_names: tuple[str, ...] = metrics.DEFAULT_METRICS) -> dict[str, Any]:
    """Encode + decode one image at one quality and measure it with ``metric_names`` (registered
    metrics; a metric undefined for the image, e.g. MS-SSIM below 161 pixels, is NaN and a note).
    The core of every job.

    The first call of a codec on an image shape in a process is a warm-up (library loading,
    graph tracing) and is not timed.
    """
    h, w = image.shape[:2]
    # Codecs with discrete rate points (ELIC: one model each) warm up every point: loading a model
    # is start-up cost, not coding time.
    warm_key = (codec.label, image.shape, quality if codec.quality_scale.choices is not None else None)
    if warm and warm_key not in _warmed:
        codec.decode(codec.encode(image, quality))
        _warmed.add(warm_key)
    encode_s, data = _timed(codec.encode, image, quality, repeats=repeats)
    decode_s, decoded = _timed(codec.decode, data, repeats=repeats)
    if decoded.shape != image.shape or decoded.dtype != image.dtype:
        raise ValueError(f"decoder returned {decoded.dtype}{decoded.shape}, expected {image.dtype}{image.shape}")
    row: dict[str, Any] = {
        "width": w, "height": h, "quality": quality, "bytes": len(data),
        "bpp": metrics.bits_per_pixel(len(data), w, h),
        "encode_s": encode_s, "decode_s": decode_s, "repeats": repeats,
    }
    values, notes = metrics.measure(image, decoded, metric_names, _metric_instances)
    row.update(values)
    if notes:
        row["note"] = "; ".join(notes)
    return row


def match_rate(codec: Codec, image, target_bpp: float, repeats: int = 1,
               metric_names: tuple[str, ...] = metrics.DEFAULT_METRICS) -> dict[str, Any]:
    """Search the quality for ``target_bpp``, then code and measure the image there."""
    quality, tried = search_quality(codec, image, target_bpp)
    row = code_image(codec, image, quality, repeats, metric_names=metric_names)
    row["note"] = (row.get("note", "") + "; " if row.get("note") else "") + (
        f"rate-matched: quality {format_quality(quality)} after {len(tried)} trial encodes"
    )
    return row


def run_job(job: Job) -> dict[str, Any]:
    """Run one job; never raises: a failure becomes a row with ``error`` set."""
    _limit_threads(job.threads)
    row: dict[str, Any] = {
        "dataset": job.image.dataset, "image": job.image.name, "codec": job.label,
        "quality": job.quality, "target_bpp": job.target_bpp, "repeats": job.repeats,
        "width": None, "height": None, "error": "", "note": "", "converted": "",
    }
    try:
        codec = worker_codec(job.codec)
        row["codec_settings"] = codec.settings_text
        image, converted = worker_image(job.image)
        row["converted"] = converted
        row["height"], row["width"] = image.shape[:2]
        if job.target_bpp is None:
            row.update(code_image(codec, image, job.quality, job.repeats, metric_names=job.metrics))
        else:
            row.update(match_rate(codec, image, job.target_bpp, job.repeats, metric_names=job.metrics))
    except Exception as exc:  # the run goes on; the row says what broke
        row["error"] = _describe_error(exc, job)
    return row


def _describe_error(exc: BaseException, job: Job) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, ElicbenchError):
        # Unexpected: keep the innermost frame so a bug report can point at it.
        tb = traceback.extract_tb(exc.__traceback__)
        if tb:
            frame = tb[-1]
            text += f" (at {os.path.basename(frame.filename)}:{frame.lineno})"
    return text.replace("\n", " ")[:500]
