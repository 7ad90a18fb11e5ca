"""Rate-distortion curves from a results table.

A curve point is one rate setting of a codec: a quality value, or a target bpp for rate-matched
runs (where the quality differs per image). A point's bpp and metric are means over images
(CompressAI's convention, the one the published curves use), except MS-SSIM in dB, which is
``-10*log10(1 - mean MS-SSIM)`` as in ``summary.csv`` and the published figures.

Which images count: a row is *usable* when it has no error and a finite, positive bpp and a
finite metric. An image enters a codec's curve only if it is usable at *every* rate point of that
codec; otherwise it is left out of all of that codec's points (listed in ``Curve.excluded``), so
every point of a curve averages the same images and the curve cannot bend because an image is
missing at one point. Comparisons between codecs should also use the same images: pass
``images=`` (see :func:`complete_images`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

#: Metric column -> axis label. ``ms_ssim_db`` is derived from ``ms_ssim``.
METRICS: dict[str, str] = {
    "psnr": "PSNR (RGB) [dB]",
    "psnr_y": "PSNR (Y) [dB]",
    "ms_ssim_db": "MS-SSIM [dB]",
    "ms_ssim": "MS-SSIM",
}


@dataclass
class Curve:
    """An RD curve: points sorted by bpp. ``quality`` holds the metric values (e.g. PSNR in dB)."""

    label: str
    bpp: np.ndarray
    quality: np.ndarray
    source: str
    metric: str = "psnr"
    #: The codec's rate setting of each point, as text ('75', 'target 0.5 bpp').
    knobs: tuple[str, ...] = ()
    #: Mean encode/decode seconds per image at each point (NaN where unknown).
    encode_s: np.ndarray | None = None
    decode_s: np.ndarray | None = None
    images: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.bpp = np.asarray(self.bpp, dtype=float)
        self.quality = np.asarray(self.quality, dtype=float)
        if self.bpp.shape != self.quality.shape or self.bpp.ndim != 1:
            raise ValueError(f"curve {self.label!r}: bpp and quality must be 1-D arrays of equal length")

    @property
    def n_images(self) -> int:
        return len(self.images)

    def __len__(self) -> int:
        return len(self.bpp)


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    return metric


def _ms_ssim_db(ms_ssim):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -10.0 * np.log10(1.0 - np.asarray(ms_ssim, dtype=float))


def _point_keys(df) -> "pandas.Series":
    """Rate-point identity per row: the target bpp for rate-matched rows, else the quality."""
    import pandas as pd

    target = df["target_bpp"] if "target_bpp" in df else pd.Series(np.nan, index=df.index)
    quality = df["quality"]
    return pd.Series(
        [f"target {t:.10g} bpp" if np.isfinite(t) else f"{q:.10g}" for t, q in zip(target.astype(float), quality.astype(float))],
        index=df.index,
    )


def _prepared(results_df, metric: str):
    """Rows with a point key and the per-row metric value, plus a usable flag."""
    check_metric(metric)
    if "dataset" in results_df and results_df["dataset"].nunique() > 1:
        names = ", ".join(sorted(results_df["dataset"].unique()))
        raise ValueError(f"results hold several datasets ({names}); select one before computing curves")
    df = results_df.copy()
    df["_point"] = _point_keys(df)
    source_col = "ms_ssim" if metric == "ms_ssim_db" else metric
    value = df[source_col].astype(float) if source_col in df else np.nan
    df["_value"] = _ms_ssim_db(value) if metric == "ms_ssim_db" else value
    error = df["error"].fillna("").astype(str) if "error" in df else ""
    bpp = df["bpp"].astype(float)
    df["_usable"] = (error == "") & np.isfinite(bpp) & (bpp > 0) & np.isfinite(df["_value"].astype(float))
    return df


def complete_images(results_df, metric: str = "psnr") -> dict[str, set[str]]:
    """Per codec label: the images usable at every rate point of that codec."""
    df = _prepared(results_df, metric)
    out: dict[str, set[str]] = {}
    for label, rows in df.groupby("codec", sort=True):
        n_points = rows["_point"].nunique()
        good = rows[rows["_usable"]].groupby("image")["_point"].nunique()
        out[label] = set(good[good == n_points].index)
    return out


def _curve_from_rows(label: str, rows, metric: str, source: str, images: tuple[str, ...], excluded: tuple[str, ...]) -> Curve:
    points = rows.groupby("_point", sort=False)
    bpp = points["bpp"].mean()
    if metric == "ms_ssim_db":
        quality = _ms_ssim_db(points["ms_ssim"].mean())
    else:
        quality = points["_value"].mean()
    encode = points["encode_s"].mean() if "encode_s" in rows else bpp * np.nan
    decode = points["decode_s"].mean() if "decode_s" in rows else bpp * np.nan
    order = np.argsort(bpp.to_numpy(), kind="stable")
    return Curve(
        label=label,
        bpp=bpp.to_numpy()[order],
        quality=np.asarray(quality, dtype=float)[order],
        source=source,
        metric=metric,
        knobs=tuple(np.asarray(bpp.index)[order]),
        encode_s=np.asarray(encode, dtype=float)[order],
        decode_s=np.asarray(decode, dtype=float)[order],
        images=images,
        excluded=excluded,
    )


def rd_curves(results_df, metric: str = "psnr", *, images: Iterable[str] | None = None,
              source: str = "measured") -> dict[str, Curve]:
    """Mean RD curve of every codec label in a one-dataset results table.

    ``images``: restrict every curve to these images (each codec still drops those it failed
    on). Codecs left with no usable image are omitted.
    """
    df = _prepared(results_df, metric)
    complete = complete_images(results_df, metric)
    wanted = None if images is None else set(images)
    curves: dict[str, Curve] = {}
    for label, rows in df.groupby("codec", sort=True):
        all_images = set(rows["image"])
        use = complete[label] if wanted is None else complete[label] & wanted
        considered = all_images if wanted is None else all_images & wanted
        if not use:
            continue
        chosen = rows[rows["image"].isin(use) & rows["_usable"]]
        curves[label] = _curve_from_rows(
            label, chosen, metric, source, tuple(sorted(use)), tuple(sorted(considered - use))
        )
    return curves


def image_curves(results_df, metric: str = "psnr", *, images: Iterable[str] | None = None,
                 source: str = "measured") -> dict[str, dict[str, Curve]]:
    """Per codec label, per image: that image's own RD curve (usable points only)."""
    df = _prepared(results_df, metric)
    df = df[df["_usable"]]
    if images is not None:
        df = df[df["image"].isin(set(images))]
    out: dict[str, dict[str, Curve]] = {}
    for (label, image), rows in df.groupby(["codec", "image"], sort=True):
        out.setdefault(label, {})[image] = _curve_from_rows(label, rows, metric, source, (image,), ())
    return out
