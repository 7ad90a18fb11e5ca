"""Rate-distortion curves from a results table.

A curve point is one rate setting of a codec: a quality value, or a target bpp for rate-matched
runs (where the quality differs per image). A point's bpp and metric value come from
``results.rd_points``, the one aggregation summary.csv, the report and check share: means over images
(CompressAI's convention, the one the published curves use), except where the metric's axis says
otherwise (``elicbench.metrics``: MS-SSIM in dB is ``-10*log10(1 - mean MS-SSIM)`` as in the published
figures; ``psnr_pooled`` pools the MSE). Any axis of a registered metric can be a curve's metric.

Which images count: a row is *usable* when it has no error and a finite, positive bpp and a
value for the metric. An image enters a codec's curve only if it is usable at *every* rate point of
that codec; otherwise it is left out of all of that codec's points (listed in ``Curve.excluded``,
with the reason in ``Curve.why_excluded``), so every point of a curve averages the same images and
the curve cannot bend because an image is missing at one point. Comparisons between codecs should
also use the same images: pass ``images=`` (see :func:`complete_images`).

Lossless rows (README, "Lossless rows"; the same rule as ``summary.csv``): an image decoded to
exactly its pixels has an infinite PSNR.

- ``psnr`` and ``psnr_y`` (the headline, as published curves average them) are means of per-image
  dB values, which cannot hold an infinite one: such a row is not usable, so an image coded
  losslessly at some rate point is left out of that codec's curve, like a failed one, with the
  reason "lossless". A codec lossless on every image (at some point) has no such curve.
- ``psnr_pooled`` / ``psnr_y_pooled`` (PSNR of the MSE pooled over every pixel of the curve's
  images, CLIC's rule) and ``ms_ssim_db`` (dB of the mean MS-SSIM) average finite per-image values
  (MSE, MS-SSIM), so lossless rows are usable and count. Only a point where every image is
  lossless is infinite; it cannot be drawn or interpolated, so it is left off the curve and listed
  in ``Curve.infinite_points``.

:func:`left_out`, :func:`omitted_codecs` and :func:`coverage_notes` say what was left out and why;
report, plot and check print those notes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from ..metrics import POOLED_MSE, get_axis
from ..results import rd_points

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
    #: Why each image of ``excluded`` was left out ('lossless (PSNR infinite) at 50', 'failed at 90').
    why_excluded: dict[str, str] = field(default_factory=dict)
    #: Rate points left off because their value is infinite (every image lossless there).
    infinite_points: tuple[str, ...] = ()

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
    """``metric`` when it is an axis of a registered metric (``elicbench.metrics.axes``: psnr,
    ms_ssim_db, psnr_pooled, ssimulacra2, ...); UnknownNameError (exit 2) listing them otherwise."""
    get_axis(metric)
    return metric


def axis_label(metric: str) -> str:
    """The axis label of ``metric`` with its unit, e.g. 'MS-SSIM [dB]'."""
    return get_axis(metric).label


def direction_note(metric: str) -> str:
    """' (lower is better; BD-quality < 0 is better)' for a lower-is-better metric, else ''."""
    return "" if get_axis(metric).higher_is_better else " (lower is better; a negative BD-quality is better)"


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
    """Rows with a point key, the per-row value the metric aggregates, a usable flag and, for rows
    that are not usable, why not (``_why``: 'failed', 'lossless', 'no value')."""
    check_metric(metric)
    if "dataset" in results_df and results_df["dataset"].nunique() > 1:
        names = ", ".join(sorted(results_df["dataset"].unique()))
        raise ValueError(f"results hold several datasets ({names}); select one before computing curves")
    df = results_df.copy()
    df["_point"] = _point_keys(df)
    axis = get_axis(metric)
    value = df[axis.column].astype(float) if axis.column in df else _nan_series(df)
    df["_value"] = value
    # A pooled PSNR counts a lossless image (inf dB is MSE 0); every other axis needs a finite value.
    has_value = value.notna() if axis.rule == POOLED_MSE else np.isfinite(value)
    error = df["error"].fillna("").astype(str) if "error" in df else _nan_series(df).fillna("")
    bpp = df["bpp"].astype(float)
    rate_ok = (error == "") & np.isfinite(bpp) & (bpp > 0)
    df["_usable"] = rate_ok & has_value
    lossless = rate_ok & np.isposinf(value)
    df["_why"] = np.where(df["_usable"], "", np.where(error != "", "failed", np.where(lossless, "lossless", "no value")))
    return df


def _nan_series(df):
    import pandas as pd

    return pd.Series(np.nan, index=df.index, dtype=float)


def complete_images(results_df, metric: str = "psnr") -> dict[str, set[str]]:
    """Per codec label: the images usable at every rate point of that codec."""
    df = _prepared(results_df, metric)
    out: dict[str, set[str]] = {}
    for label, rows in df.groupby("codec", sort=True):
        n_points = rows["_point"].nunique()
        good = rows[rows["_usable"]].groupby("image")["_point"].nunique()
        out[label] = set(good[good == n_points].index)
    return out


def _curve_from_rows(label: str, rows, metric: str, source: str, images: tuple[str, ...], excluded: tuple[str, ...],
                     why_excluded: dict[str, str] | None = None) -> Curve:
    points = rd_points(rows, ["_point"], [metric])   # the one aggregation (results.rd_points)
    bpp = points["bpp"].to_numpy(float)
    quality = points[metric].to_numpy(float)
    finite = np.isfinite(quality)   # a pooled point is infinite only when every image is lossless there
    knobs = np.asarray(points.index)
    order = [i for i in np.argsort(bpp, kind="stable") if finite[i]]
    return Curve(
        label=label,
        bpp=bpp[order],
        quality=quality[order],
        source=source,
        metric=metric,
        knobs=tuple(knobs[order]),
        encode_s=points["encode_s"].to_numpy(float)[order],
        decode_s=points["decode_s"].to_numpy(float)[order],
        images=images,
        excluded=excluded,
        why_excluded=dict(why_excluded or {}),
        infinite_points=tuple(_sorted_knobs(knobs[~finite])),
    )


def _sorted_knobs(knobs) -> list[str]:
    def key(k: str):
        try:
            return (0, float(k), "")
        except ValueError:
            return (1, 0.0, k)
    return sorted((str(k) for k in knobs), key=key)


def rd_curves(results_df, metric: str = "psnr", *, images: Iterable[str] | None = None,
              source: str = "measured") -> dict[str, Curve]:
    """Mean RD curve of every codec label in a one-dataset results table.

    ``images``: restrict every curve to these images (each codec still drops those it failed
    on). Codecs left with no usable image, or with no finite point, are omitted
    (:func:`omitted_codecs` says why).
    """
    df = _prepared(results_df, metric)
    complete = complete_images(results_df, metric)
    reasons = _left_out(df)
    wanted = None if images is None else set(images)
    curves: dict[str, Curve] = {}
    for label, rows in df.groupby("codec", sort=True):
        all_images = set(rows["image"])
        use = complete[label] if wanted is None else complete[label] & wanted
        considered = all_images if wanted is None else all_images & wanted
        if not use:
            continue
        chosen = rows[rows["image"].isin(use) & rows["_usable"]]
        excluded = tuple(sorted(considered - use))
        curve = _curve_from_rows(label, chosen, metric, source, tuple(sorted(use)), excluded,
                                 {i: reasons.get(label, {}).get(i, "") for i in excluded})
        if len(curve):
            curves[label] = curve
    return curves


def _left_out(df) -> dict[str, dict[str, str]]:
    """Per codec, per image not usable at every rate point of the codec: why, e.g.
    'lossless (PSNR infinite) at 50, 90; failed at 5'."""
    out: dict[str, dict[str, str]] = {}
    for label, rows in df.groupby("codec", sort=True):
        points = _sorted_knobs(rows["_point"].unique())
        for image, own in rows.groupby("image", sort=True):
            why: dict[str, list[str]] = {}
            seen = set()
            for point, usable, reason in own[["_point", "_usable", "_why"]].itertuples(index=False):
                seen.add(point)
                if not usable:
                    why.setdefault(reason, []).append(point)
            for point in points:
                if point not in seen:
                    why.setdefault("not run", []).append(point)
            if why:
                out.setdefault(label, {})[image] = "; ".join(
                    f"{_REASON_TEXT.get(r, r)} at {', '.join(_sorted_knobs(set(p)))}" for r, p in why.items())
    return out


_REASON_TEXT = {"lossless": "lossless (PSNR infinite)"}


def left_out(results_df, metric: str = "psnr") -> dict[str, dict[str, str]]:
    """Per codec label: the images left out of its ``metric`` curve and why ('lossless (PSNR
    infinite) at 50', 'failed at 90', 'no value at ...', 'not run at ...')."""
    return _left_out(_prepared(results_df, metric))


def _metric_name(metric: str) -> str:
    return get_axis(metric).short_label


def _some(names: Iterable[str], reasons: dict[str, str], n: int = 3) -> str:
    """'flat at 50, 90; photo: failed at 5' for the first ``n`` names (the lossless wording is implied)."""
    def one(i: str) -> str:
        why = reasons.get(i, "")
        lossless = _REASON_TEXT["lossless"] + " "
        return f"{i} {why[len(lossless):]}" if why.startswith(lossless) and ";" not in why else \
            (f"{i}: {why}" if why else i)

    names = list(names)
    shown = "; ".join(one(i) for i in names[:n])
    return shown + (f"; and {len(names) - n} more" if len(names) > n else "")


def omitted_codecs(results_df, metric: str = "psnr") -> dict[str, str]:
    """Per codec label that gets no ``metric`` curve from :func:`rd_curves`: why (a sentence)."""
    df = _prepared(results_df, metric)
    complete = complete_images(results_df, metric)
    reasons = _left_out(df)
    curves = rd_curves(results_df, metric)
    out: dict[str, str] = {}
    for label in sorted(df["codec"].unique()):
        if label in curves:
            continue
        own = reasons.get(label, {})
        lossless = [i for i, r in own.items() if r.startswith("lossless") or "; lossless" in r]
        if complete.get(label):
            out[label] = (f"every image was coded losslessly at every rate point ({_metric_name(metric)} infinite): "
                          "no finite point to draw or compare")
        elif lossless and len(lossless) == len(own):
            out[label] = (f"every image was coded losslessly (PSNR infinite) at some rate point ({_some(own, own)}), "
                          f"and a mean of per-image {_metric_name(metric)} cannot include an infinite value; "
                          "left out (summary.csv's psnr_pooled and `report --metric psnr_pooled` count them)")
        elif lossless:
            out[label] = (f"no image was coded successfully (and lossy) at every rate point ({_some(own, own)}); "
                          "left out")
        else:
            out[label] = "no image was coded successfully at every rate point; left out"
    return out


def coverage_notes(results_df, metric: str = "psnr", *, omitted: bool = True) -> list[str]:
    """What the ``metric`` curves leave out because of lossless rows, as sentences for report,
    plot and check: codecs with no curve (any reason; not with ``omitted=False``), images left out
    of a codec's curve because they were lossless somewhere, and points left off because every
    image was lossless there. (Images left out because a job failed are reported where curves are
    compared.)"""
    notes = [f"{label}: {why}" for label, why in omitted_codecs(results_df, metric).items()] if omitted else []
    name = _metric_name(metric)
    for label, curve in rd_curves(results_df, metric).items():
        lossless = [i for i in curve.excluded if "lossless" in curve.why_excluded.get(i, "")]
        if lossless:
            total = len(curve.images) + len(curve.excluded)
            notes.append(f"{label}: {len(lossless)} of {total} images left out of its {name} curve, coded losslessly "
                         f"(PSNR infinite) at some rate point ({_some(lossless, curve.why_excluded)}), which a mean "
                         f"of per-image {name} cannot include (psnr_pooled counts them)")
        if curve.infinite_points:
            notes.append(f"{label}: rate point(s) {', '.join(curve.infinite_points)} left off its {name} curve: "
                         f"every image was coded losslessly there ({name} infinite)")
    return notes


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
