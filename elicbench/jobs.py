"""Jobs: the unit of work of a run, and its identity.

A job is (image, codec, quality) — or (image, codec, target bpp) for rate-matched runs. It is
small and picklable, so any ``concurrent.futures``-style executor (a local process pool, a Dask
cluster) can take it to a worker (``elicbench.worker.run_job``). A job is data only: it names its
codec (``CodecSpec``) and its image (``ImageRef``) and loads neither.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .datasets.base import ImageRef


@dataclass(frozen=True)
class CodecSpec:
    """A codec as the user configured it: registered name + settings (picklable).

    ``module`` is the module that registers the codec: a worker process imports it first, so
    codecs registered at run time (in a notebook's module, a test) work in workers too
    (``elicbench.worker.create_codec``).
    """

    name: str
    settings: tuple[tuple[str, Any], ...] = ()
    module: str | None = None


@dataclass(frozen=True)
class Job:
    image: ImageRef
    codec: CodecSpec
    label: str                      # the codec's label (name + non-default settings)
    quality: float | None           # None when the quality is searched for a target bpp
    target_bpp: float | None = None
    repeats: int = 1
    threads: int = 1                # threads a codec may use for this job
    #: Registered metric names to measure (``elicbench.metrics``); today's columns by default.
    metrics: tuple[str, ...] = ("psnr", "psnr_y", "ms_ssim")

    @property
    def key(self) -> tuple[str, str, str, str]:
        return job_key({"image": self.image.name, "codec": self.label,
                        "quality": "" if self.quality is None else self.quality,
                        "target_bpp": "" if self.target_bpp is None else self.target_bpp})


def job_key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    """Identity of a job in a run: (image, codec label, quality text, target bpp text), of a job or
    of its row in results.csv (so ``--resume`` knows which jobs are done)."""
    return (str(row["image"]), str(row["codec"]), _text(row["quality"]), _text(row.get("target_bpp", "")))


def _text(value: Any) -> str:
    """A key's text of a value: None and NaN empty, floats to 10 significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.10g}" if isinstance(value, float) else str(value)
