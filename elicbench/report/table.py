"""The BD table of one dataset: every codec (and requested published curve) against one anchor.

Images: each measured codec is compared with a measured anchor on the images *both* coded
successfully at every rate point (see ``analysis.curves``), so a failure of one codec on one image
does not bias the comparison; the table's ``images`` column is that count and a warning names
the images left out. Published curves are means over the whole dataset; comparing them with a run
on fewer images is flagged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..analysis.bdrate import MIN_OVERLAP, BDResult, PerImageBD, bd_quality, bd_rate, check_method, per_image_bd
from ..analysis.curves import Curve, check_metric, complete_images, coverage_notes, image_curves, rd_curves
from ..analysis.reference import (REF_PREFIX, check_reference_names, published_image_count, reference_curve,
                                  reference_datasets)
from ..errors import UserError

#: Column name of BD-quality, by metric.
BD_QUALITY_NAMES = {"psnr": "BD-PSNR", "psnr_y": "BD-PSNR-Y", "ms_ssim_db": "BD-MS-SSIM", "ms_ssim": "BD-MS-SSIM",
                    "psnr_pooled": "BD-PSNR (pooled)", "psnr_y_pooled": "BD-PSNR-Y (pooled)"}
_QUALITY_UNITS = {"psnr": "dB", "psnr_y": "dB", "ms_ssim_db": "dB", "ms_ssim": "", "psnr_pooled": "dB",
                  "psnr_y_pooled": "dB"}


def bd_quality_name(metric: str) -> str:
    """The BD-quality column's name for ``metric``: 'BD-PSNR', 'BD-SSIMULACRA2', ..."""
    if metric in BD_QUALITY_NAMES:
        return BD_QUALITY_NAMES[metric]
    from ..metrics import get_axis

    return "BD-" + get_axis(metric).short_label


def quality_unit(metric: str) -> str:
    if metric in _QUALITY_UNITS:
        return _QUALITY_UNITS[metric]
    from ..metrics import get_axis

    return get_axis(metric).unit


CSV_COLUMNS = [
    "dataset", "codec", "role", "anchor", "metric", "method",
    "bd_rate_pct", "bd_rate_reason", "per_image_bd_rate_pct", "per_image_ci95_lo", "per_image_ci95_hi",
    "per_image_n", "bd_quality", "bd_quality_reason", "overlap_lo", "overlap_hi",
    "bd_rate_overlap_pct", "bd_quality_overlap_pct", "min_overlap_pct",
    "bpp_min", "bpp_max", "n_images", "encode_ms", "decode_ms", "source", "warnings",
]


class ReportInputError(UserError, ValueError):
    """Bad report input (an anchor that is not in the runs ...); the message says what exists."""


@dataclass
class BDRow:
    """One codec's line of the table. ``role``: 'anchor', 'measured' or 'published'."""

    dataset: str
    codec: str
    role: str
    anchor: str
    metric: str
    method: str
    curve: Curve
    bd_rate: BDResult | None = None
    bd_quality: BDResult | None = None
    per_image: PerImageBD | None = None
    n_images: int | None = None
    warnings: list[str] = field(default_factory=list)

    def record(self) -> dict:
        """The row as written to bdrate.csv."""
        nan = math.nan
        c = self.curve
        rate, qual, per = self.bd_rate, self.bd_quality, self.per_image
        overlap = rate.overlap if rate is not None else (nan, nan)
        return {
            "dataset": self.dataset, "codec": self.codec, "role": self.role, "anchor": self.anchor,
            "metric": self.metric, "method": self.method,
            "bd_rate_pct": rate.value if rate else nan, "bd_rate_reason": (rate.reason or "") if rate else "",
            "per_image_bd_rate_pct": per.mean if per else nan,
            "per_image_ci95_lo": per.ci[0] if per else nan, "per_image_ci95_hi": per.ci[1] if per else nan,
            "per_image_n": per.n if per else 0,
            "bd_quality": qual.value if qual else nan, "bd_quality_reason": (qual.reason or "") if qual else "",
            "overlap_lo": overlap[0], "overlap_hi": overlap[1],
            # Overlap as the bjontegaard package measures it; below min_overlap_pct the value is empty.
            "bd_rate_overlap_pct": rate.overlap_fraction * 100 if rate else nan,
            "bd_quality_overlap_pct": qual.overlap_fraction * 100 if qual else nan,
            "min_overlap_pct": MIN_OVERLAP * 100 if rate or qual else nan,
            "bpp_min": float(np.min(c.bpp)) if len(c) else nan, "bpp_max": float(np.max(c.bpp)) if len(c) else nan,
            "n_images": self.n_images if self.n_images is not None else "",
            "encode_ms": _mean_ms(c.encode_s), "decode_ms": _mean_ms(c.decode_s),
            "source": c.source, "warnings": "; ".join(self.warnings),
        }


def _mean_ms(seconds) -> float:
    if seconds is None:
        return math.nan
    v = np.asarray(seconds, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean() * 1000.0) if v.size else math.nan


def choose_anchor(codecs: Sequence[str], anchor: str | None) -> str:
    """The anchor label: as given, else 'jpeg' when present, else the first codec."""
    if anchor:
        return anchor
    if "jpeg" in codecs:
        return "jpeg"
    if not codecs:
        raise ReportInputError("no codec results to report on")
    return sorted(codecs)[0]


def dataset_rows(results_df, dataset: str, *, anchor: str | None = None, metric: str = "psnr",
                 method: str = "pchip", with_ref: Sequence[str] = ()) -> tuple[list[BDRow], list[str]]:
    """BD rows of one dataset's results (anchor first, then codecs, then published curves) and
    the dataset-level warnings."""
    check_metric(metric)
    check_method(method)
    with_ref = check_reference_names(with_ref)
    warnings: list[str] = []
    codecs = sorted(results_df["codec"].unique())
    has_refs = dataset in reference_datasets()
    complete = complete_images(results_df, metric)
    # Codecs without a curve, and images left out for being lossless, with why (README, "Lossless rows").
    warnings += coverage_notes(results_df, metric)
    drawable = set(rd_curves(results_df, metric))
    usable = [c for c in codecs if c in drawable]
    if not usable and not (anchor or "").startswith(REF_PREFIX):
        return [], warnings
    # The default anchor is picked among codecs that can be one; an explicit one is checked below.
    anchor = choose_anchor(usable, anchor)

    rows: list[BDRow] = []
    anchor_is_ref = anchor.startswith(REF_PREFIX)
    if anchor_is_ref:
        if not has_refs:
            raise ReportInputError(f"anchor {anchor!r}: there are no published curves for dataset {dataset!r} "
                                   f"(only for {', '.join(reference_datasets())}); choose a codec of the run as anchor")
        anchor_curve = _published(anchor, dataset, metric)
        rows.append(BDRow(dataset, anchor, "anchor", anchor, metric, method, anchor_curve))
    elif anchor not in codecs:
        raise ReportInputError(f"anchor {anchor!r} is not among the codecs of dataset {dataset!r}: "
                               f"{', '.join(codecs)} (or use a published curve, e.g. ref:vtm)")
    else:
        anchor_images = complete.get(anchor, set())
        if not anchor_images or anchor not in drawable:
            raise ReportInputError(f"anchor {anchor!r} has no image coded at every rate point in {dataset!r}; "
                                   f"choose another anchor")
        own = rd_curves(results_df[results_df["codec"] == anchor], metric)[anchor]
        own.source = _run_source(results_df, anchor)
        rows.append(BDRow(dataset, anchor, "anchor", anchor, metric, method, own, n_images=own.n_images))
        anchor_per_image = image_curves(results_df[results_df["codec"] == anchor], metric).get(anchor, {})

    for label in codecs:
        if label == anchor or label not in drawable:
            continue
        row_warnings: list[str] = []
        if anchor_is_ref:
            test = rd_curves(results_df[results_df["codec"] == label], metric)[label]
            base = anchor_curve
            per = None
        else:
            common = complete[label] & complete[anchor]
            if not common:
                warnings.append(f"{label}: no image in common with anchor {anchor} (both coded at every rate point)")
                continue
            left_out = (complete[label] | complete[anchor]) - common
            if left_out:
                row_warnings.append(f"compared on the {len(common)} images both coded at every point; left out: "
                                    f"{', '.join(sorted(left_out))}")
            sub = results_df[results_df["codec"].isin([label, anchor])]
            pair = rd_curves(sub, metric, images=common)
            if label not in pair or anchor not in pair:  # pooled: every common image lossless at every point
                warnings.append(f"{label}: no finite point on the {len(common)} images in common with anchor {anchor}")
                continue
            test, base = pair[label], pair[anchor]
            per_test = image_curves(results_df[results_df["codec"] == label], metric, images=common).get(label, {})
            per = per_image_bd({k: v for k, v in anchor_per_image.items() if k in common}, per_test,
                               kind="rate", method=method)
            if per.reasons:
                first = next(iter(per.reasons.items()))
                row_warnings.append(f"per-image BD-rate undefined for {len(per.reasons)} image(s) "
                                    f"(e.g. {first[0]}: {first[1]})")
        test.source = _run_source(results_df, label)
        rate = bd_rate(base, test, method)
        quality = bd_quality(base, test, method)
        row_warnings += _result_notes(rate, quality)
        rows.append(BDRow(dataset, label, "measured", anchor, metric, method, test, rate, quality, per,
                          n_images=test.n_images, warnings=row_warnings))

    published_rows = []
    if with_ref and not has_refs:
        warnings.append(f"no published curves for dataset {dataset!r}: {', '.join(with_ref)} left out")
    elif with_ref:
        base = rows[0].curve
        for name in with_ref:
            label = REF_PREFIX + name
            if label == anchor:
                continue
            ref = _published(name, dataset, metric)
            rate = bd_rate(base, ref, method)
            quality = bd_quality(base, ref, method)
            published_rows.append(BDRow(dataset, label, "published", anchor, metric, method, ref, rate, quality,
                                        warnings=_result_notes(rate, quality)))
    rows += published_rows

    if (anchor_is_ref or published_rows) and dataset in reference_datasets():
        full = published_image_count(dataset)
        measured = {r.n_images for r in rows if r.role != "published" and r.n_images}
        if full and measured and measured != {full}:
            warnings.append(f"published {dataset} curves average all {full} images; measured curves here use "
                            f"{', '.join(map(str, sorted(measured)))}: comparisons with them are indicative only")
    return rows, warnings


def _published(name: str, dataset: str, metric: str) -> Curve:
    try:
        return reference_curve(name, dataset).curve(metric)
    except ValueError as exc:  # e.g. psnr_pooled: published curves give mean PSNR and MS-SSIM only
        raise ReportInputError(f"{exc}; use --metric psnr or ms_ssim_db with published curves") from None


def _run_source(results_df, label: str) -> str:
    """The run directory (or directories) a codec's rows came from, else 'measured'."""
    if "run" not in results_df:
        return "measured"
    return "; ".join(sorted(results_df.loc[results_df["codec"] == label, "run"].unique())) or "measured"


def _result_notes(rate: BDResult, quality: BDResult) -> list[str]:
    notes = []
    if rate.reason:
        notes.append(f"BD-rate undefined: {rate.reason}")
    if quality.reason and quality.reason != rate.reason:
        notes.append(f"BD-quality undefined: {quality.reason}")
    for note in rate.warnings + quality.warnings:
        if note not in notes:
            notes.append(note)
    return notes


# --- text formatting ------------------------------------------------------------------------------

def fmt_pct(value: float, signed: bool = True) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:+.2f} %" if signed else f"{value:.2f} %"


def fmt_quality(value: float, metric: str) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    unit = quality_unit(metric)
    return f"{value:+.3f} {unit}".rstrip() if unit else f"{value:+.4f}"


def fmt_ms(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_ci(per: PerImageBD | None) -> str:
    if per is None:
        return "-"
    if not math.isfinite(per.mean):
        return "n/a"
    lo, hi = per.ci
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{per.mean:+.2f} % (n={per.n}, no CI)"
    return f"{per.mean:+.2f} % [{lo:+.2f}, {hi:+.2f}]"


def _with_reason(text: str, result: BDResult | None) -> str:
    if text == "n/a" and result is not None and result.short_reason:
        return f"n/a ({result.short_reason})"
    return text


def table_cells(row: BDRow) -> dict[str, str]:
    """The displayed cells of a row (shared by the Markdown and the HTML table)."""
    c = row.curve
    record = row.record()
    bpp = f"{record['bpp_min']:.3f}-{record['bpp_max']:.3f}" if len(c) else "n/a"
    if row.role == "anchor":
        rate, per, quality = "anchor", "-", "-"
    else:  # an undefined value says why beside its n/a: 'n/a (overlap 4 % < 25 %)'
        rate = _with_reason(fmt_pct(row.bd_rate.value), row.bd_rate)
        per = fmt_ci(row.per_image) if row.role == "measured" else "-"
        quality = _with_reason(fmt_quality(row.bd_quality.value, row.metric), row.bd_quality)
    images = str(row.n_images) if row.n_images else ("published" if row.codec.startswith(REF_PREFIX) else "-")
    return {
        "codec": row.codec, "BD-rate": rate, "per-image BD-rate [95 % CI]": per,
        bd_quality_name(row.metric): quality, "bpp range": bpp, "images": images,
        "encode ms": fmt_ms(record["encode_ms"]), "decode ms": fmt_ms(record["decode_ms"]),
    }


def markdown_table(rows: Sequence[BDRow]) -> str:
    if not rows:
        return "(no codec results)\n"
    cells = [table_cells(r) for r in rows]
    header = list(cells[0])
    align = ["---" if h in ("codec", "bpp range") else "---:" for h in header]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for c in cells:
        lines.append("| " + " | ".join(c[h].replace("|", "\\|") for h in header) + " |")
    return "\n".join(lines) + "\n"
