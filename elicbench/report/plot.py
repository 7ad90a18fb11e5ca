"""RD and timing plots (matplotlib, Agg backend, imported only when a plot is made).

Every codec keeps its colour across figures and runs: a codec declares it (``plot_colour``) and
its run records it; published curves have a fixed one; any other label (a codec with non-default
settings, a codec without a colour) gets one picked from a spare palette by a hash of its name. Measured curves are solid with markers at the
RD points; published reference curves are dashed and labelled "(published)".
"""
from __future__ import annotations

import hashlib
import re
import textwrap
import warnings
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..analysis.curves import Curve, axis_label, coverage_notes, rd_curves
from ..analysis.reference import REF_PREFIX, check_reference_names, reference_curve, reference_datasets

# A codec's colour is its own (``Codec.plot_colour``), recorded in the run's manifest and read
# from there. This table only covers runs written before codecs recorded it (the same colours;
# a test keeps them equal) and the published curves, which are data, not codecs.
FIXED_COLOURS = {
    "jpeg": "#1f77b4",
    "webp": "#2ca02c",
    "avif": "#d62728",
    "avif-svt": "#ff7f0e",
    "avif-rav1e": "#e377c2",
    "jpeg2000": "#8c564b",
    "jxl": "#17becf",
    "heif": "#bcbd22",
    "jpegli": "#7b4173",
    # ELIC as measured here is never drawn in the purple of the published ELIC curve: the demo
    # weights in ochre, trained models in magenta.
    "elic": "#e7298a",
    "elic (demo weights)": "#a6761d",
    # Published curves: greys for the standards' reference encoders, tints of the matching codec otherwise.
    "ref:vtm": "#111111",
    "ref:hm": "#6b6b6b",
    "ref:bpg444": "#a0a0a0",
    "ref:av1-aomenc": "#c44e52",
    "ref:elic-paper": "#9467bd",
    "ref:elic-sm-paper": "#c5b0d5",
    "ref:jpeg-pillow7": "#aec7e8",
    "ref:webp-pillow7": "#98df8a",
    "ref:jpeg2000-openjpeg": "#c49c94",
}
# Colours for labels not in the table, distinct from the fixed ones.
SPARE_COLOURS = ("#393b79", "#637939", "#8c6d31", "#843c39", "#3182bd", "#31a354", "#e6550d",
                 "#756bb1", "#636363", "#b5cf6b", "#de9ed6", "#6baed6", "#fd8d3c")
SPARE_MARKERS = ("s", "^", "D", "v", "P", "X", "<", ">")
DPI = 150


def _digest(label: str) -> int:
    return int.from_bytes(hashlib.sha256(label.encode("utf-8")).digest()[:4], "big")


DEMO_SUFFIX = " (demo weights)"


def codec_colour(label: str, colours: Mapping[str, str] | None = None) -> str:
    """Stable colour of a codec label or ``ref:`` name: the colour its run recorded (``colours``,
    from the codec's ``plot_colour``), else a fixed one, else one picked from the label."""
    if colours and colours.get(label):
        return colours[label]
    if label in FIXED_COLOURS:
        return FIXED_COLOURS[label]
    if DEMO_SUFFIX in label:  # e.g. 'elic[tile=0] (demo weights)', 'elic (demo weights) (run-a)' of older runs
        return FIXED_COLOURS["elic" + DEMO_SUFFIX]
    return SPARE_COLOURS[_digest(label) % len(SPARE_COLOURS)]


def codec_marker(label: str) -> str:
    """Circle for the known codecs, a hash-picked shape otherwise (so colour clashes stay readable)."""
    if label.startswith(REF_PREFIX):
        return "."
    if label in FIXED_COLOURS:
        return "o"
    return SPARE_MARKERS[_digest(label) % len(SPARE_MARKERS)]


def display_name(label: str) -> str:
    return f"{label[len(REF_PREFIX):]} (published)" if label.startswith(REF_PREFIX) else label


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _style_axes(ax, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(True, which="major", color="#d0d0d0", linewidth=0.8)
    if ax.get_yscale() == "log":  # decades alone are too coarse to read a time off
        ax.grid(True, which="minor", axis="y", color="#ececec", linewidth=0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _legend(fig, ax) -> None:
    handles, labels = ax.get_legend_handles_labels()
    # Measured codecs first, published curves after them.
    pairs = sorted(zip(handles, labels), key=lambda hl: hl[1].endswith("(published)"))
    handles, labels = [h for h, _ in pairs], [l for _, l in pairs]
    if handles:
        # 'outside': constrained layout makes room for it, so no second (tight-bbox) draw is needed.
        fig.legend(handles, labels, loc="outside right upper", frameon=False, fontsize=9)


def _n_images_text(curves: Sequence[Curve]) -> str:
    counts = sorted({c.n_images for c in curves if c.n_images})
    if not counts:
        return ""
    if len(counts) == 1:
        return f"{counts[0]} image" if counts[0] == 1 else f"{counts[0]} images"
    return f"{counts[0]}-{counts[-1]} images"


def _curve_label(curve: Curve, most: int) -> str:
    name = display_name(curve.label)
    if curve.n_images and curve.n_images < most:
        name += f" (n={curve.n_images})"
    return name


def rd_figure(curves: Sequence[Curve], refs: Sequence[Curve] = (), *, metric: str = "psnr", title: str = "",
              colours: Mapping[str, str] | None = None, footnote: str = ""):
    """bpp vs ``metric`` for measured ``curves`` (solid, markers) and published ``refs`` (dashed).

    The x range follows the measured curves (references are cut to it) so the measured codecs
    fill the plot; with no measured curve it follows the references. ``footnote``: small text
    under the axes (where the published curves come from).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.0, 5.2), layout="constrained")
    most = max((c.n_images for c in curves), default=0)
    shown_bpp = [c.bpp for c in curves] or [r.bpp for r in refs]
    xmax = max((float(np.max(b)) for b in shown_bpp if len(b)), default=1.0) * 1.06
    visible: list[np.ndarray] = []
    for ref in refs:
        ax.plot(ref.bpp, ref.quality, linestyle="--", linewidth=1.4, marker=".", markersize=5,
                color=codec_colour(ref.label), label=display_name(ref.label), zorder=2)
        visible.append(ref.quality[ref.bpp <= xmax])
    for curve in curves:
        ax.plot(curve.bpp, curve.quality, linestyle="-", linewidth=1.8, marker=codec_marker(curve.label),
                markersize=5, color=codec_colour(curve.label, colours), label=_curve_label(curve, most), zorder=3)
        visible.append(curve.quality)
    values = np.concatenate([v for v in visible if len(v)]) if visible else np.array([])
    if values.size:
        lo, hi = float(np.min(values)), float(np.max(values))
        pad = max((hi - lo) * 0.04, 0.1)
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlim(0.0, xmax)
    _style_axes(ax, "bits per pixel (bpp)", axis_label(metric), title)
    _legend(fig, ax)
    if footnote:
        # supxlabel takes part in the constrained layout, so the note never overlaps the axis label.
        fig.supxlabel("\n".join(textwrap.wrap(footnote, width=150, break_on_hyphens=False)), x=0.01,
                      ha="left", fontsize=7, color="#555555")
    return fig


def time_figure(curves: Sequence[Curve], *, which: str = "encode", title: str = "",
                colours: Mapping[str, str] | None = None):
    """Mean ``which`` ('encode' or 'decode') time per image vs bpp, log time axis (milliseconds)."""
    if which not in ("encode", "decode"):
        raise ValueError(f"which must be 'encode' or 'decode', got {which!r}")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.0, 5.2), layout="constrained")
    most = max((c.n_images for c in curves), default=0)
    plotted = False
    for curve in curves:
        seconds = curve.encode_s if which == "encode" else curve.decode_s
        if seconds is None:
            continue
        ms = np.asarray(seconds, dtype=float) * 1000.0
        keep = np.isfinite(ms) & (ms > 0)
        if not keep.any():
            continue
        ax.plot(curve.bpp[keep], ms[keep], linestyle="-", linewidth=1.8, marker=codec_marker(curve.label),
                markersize=5, color=codec_colour(curve.label, colours), label=_curve_label(curve, most))
        plotted = True
    if plotted:
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        ax.set_yscale("log")
        # Ticks at 1-2-5 steps written as plain numbers: '20', '500', not '10^2'.
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    else:
        ax.text(0.5, 0.5, "no timings recorded", transform=ax.transAxes, ha="center", va="center", color="#777777")
    ax.set_xlim(left=0.0)
    _style_axes(ax, "bits per pixel (bpp)", f"{which} time per image [ms] (log)", title)
    _legend(fig, ax)
    return fig


def save_figure(fig, base: Path, formats: Iterable[str] = ("png", "svg")) -> list[Path]:
    """Write ``base.<fmt>`` for each format; closes the figure."""
    import matplotlib

    plt = _pyplot()
    paths = []
    try:
        # A fixed salt makes the SVG's element ids, and so the whole file, reproducible.
        with matplotlib.rc_context({"svg.hashsalt": "elicbench"}):
            for fmt in formats:
                path = base.with_name(f"{base.name}.{fmt}")
                fig.savefig(path, format=fmt, dpi=DPI, metadata=_stable_metadata(fmt))
                paths.append(path)
    finally:
        plt.close(fig)
    return paths


def figure_png_bytes(fig) -> bytes:
    """The figure as PNG bytes (for embedding); closes the figure."""
    import io

    plt = _pyplot()
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=DPI, metadata=_stable_metadata("png"))
    finally:
        plt.close(fig)
    return buf.getvalue()


def _stable_metadata(fmt: str) -> dict:
    # No creation date in the files, so re-plotting the same run gives identical files.
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None}
    return {}


def slug(text: str) -> str:
    """A file-name-safe version of a dataset name (which may be a directory path)."""
    text = text.strip().rstrip("/\\")
    text = re.sub(r".*[/\\]", "", text) or "dataset"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def reference_for(dataset: str, names: Iterable[str], metric: str) -> list[Curve]:
    """Published curves ``names`` for ``dataset`` as curves of ``metric``; [] when the dataset has
    none. Unknown names raise UnknownReferenceError."""
    names = list(names)
    if not names or dataset not in reference_datasets():
        return []
    return [reference_curve(n, dataset).curve(metric) for n in names]


def reference_footnote(dataset: str, names: Iterable[str]) -> str:
    """Where the published curves ``names`` come from, grouped by repository and commit, e.g.
    'Dashed: published results on kodak (...): vtm, hm from InterDigitalInc/CompressAI @ 869a9f5; ...'."""
    names = [n[len(REF_PREFIX):] if n.startswith(REF_PREFIX) else n for n in names]
    if not names or dataset not in reference_datasets():
        return ""
    by_origin: dict[str, list[str]] = {}
    for name in names:
        by_origin.setdefault(reference_curve(name, dataset).short_origin, []).append(name)
    parts = [f"{', '.join(group)} from {origin}" for origin, group in by_origin.items()]
    return (f"Dashed: published results on {dataset} (means over all its images), not measured here: "
            f"{'; '.join(parts)} (details: elicbench/data/reference/{dataset}/SOURCE.md)")


def recorded_colours(results_df) -> dict[str, str]:
    """{codec: colour} from the ``plot_colour`` column of ``combined_results`` (where a run recorded one)."""
    if "plot_colour" not in results_df:
        return {}
    pairs = results_df[["codec", "plot_colour"]].dropna().drop_duplicates("codec")
    return {str(c): str(v) for c, v in pairs.itertuples(index=False) if v}


def plotted_axes(results_df) -> list[str]:
    """The RD plots of a results table: psnr and ms_ssim_db (as always), then the display axis of
    every other plotted metric the run measured (e.g. ssimulacra2, ciede2000)."""
    from ..metrics import get_metric
    from ..results import metric_columns

    out = ["psnr", "ms_ssim_db"]
    for name in metric_columns(results_df):
        cls = get_metric(name)
        if cls.plotted and cls.display_axis() not in out:
            out.append(cls.display_axis())
    return out


def dataset_figures(results_df, dataset: str, *, with_ref: Sequence[str] = ()):
    """(name, figure) pairs for one dataset's results: rd_psnr, rd_ms_ssim_db, time_encode, time_decode."""
    title_name = slug(dataset)
    if with_ref and dataset not in reference_datasets():
        warnings.warn(f"no published reference curves for dataset {dataset!r}; {', '.join(with_ref)} not drawn "
                      f"(published curves exist for: {', '.join(reference_datasets())})", stacklevel=2)
    out = []
    colours = recorded_colours(results_df)
    psnr_curves: dict[str, Curve] = {}
    psnr_notes: list[str] = []
    for metric in plotted_axes(results_df):
        curves = rd_curves(results_df, metric)
        notes = coverage_notes(results_df, metric)   # what is not drawn, and why (README, "Lossless rows")
        for note in notes:
            warnings.warn(note, stacklevel=2)
        if metric == "psnr":
            psnr_curves, psnr_notes = curves, notes
        # Published curves give PSNR and MS-SSIM only.
        refs = reference_for(dataset, with_ref, metric) if metric in ("psnr", "ms_ssim_db") else []
        count = _n_images_text(list(curves.values()))
        title = f"{title_name}: {axis_label(metric).split(' [')[0]} vs rate" + (f" ({count})" if count else "")
        out.append((f"rd_{metric}", _footnote(rd_figure(list(curves.values()), refs, metric=metric, title=title,
                                                             colours=colours, footnote=reference_footnote(dataset, with_ref)),
                                              notes)))
    count = _n_images_text(list(psnr_curves.values()))
    for which in ("encode", "decode"):
        title = f"{title_name}: {which} time vs rate" + (f" ({count})" if count else "")
        out.append((f"time_{which}", _footnote(time_figure(list(psnr_curves.values()), which=which, title=title,
                                                                    colours=colours), psnr_notes)))
    return out


def _footnote(fig, notes: Sequence[str]):
    """Add ``notes`` (what the figure leaves out, and why) in small print under the axes, after any
    footnote the figure has (the supxlabel, which takes part in the constrained layout)."""
    if not notes:
        return fig
    text = "\n".join(textwrap.fill(f"Note: {n}", 150, subsequent_indent="    ", break_on_hyphens=False)
                     for n in notes)
    before = fig.get_supxlabel()
    fig.supxlabel(f"{before}\n{text}" if before else text, x=0.01, ha="left", fontsize=7, color="#555555")
    return fig


def plot_runs(runs, out_dir, *, with_ref: Sequence[str] = (), formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write, per dataset in ``runs``, ``<dataset>_rd_psnr``, ``<dataset>_rd_ms_ssim_db``,
    ``<dataset>_time_encode`` and ``<dataset>_time_decode`` in each format into ``out_dir``
    (created if needed). Returns the written paths. ``with_ref``: published curve names
    (e.g. 'vtm', 'elic-paper'), drawn dashed on the RD plots of datasets that have them.
    """
    from ..analysis.runs import combined_results

    with_ref = check_reference_names(with_ref)  # fail on a typo before any work
    formats = list(formats)
    bad = [f for f in formats if f not in ("png", "svg", "pdf")]
    if bad:
        raise ValueError(f"unsupported plot format(s) {', '.join(bad)}; use png, svg or pdf")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    df = combined_results(runs)
    written: list[Path] = []
    for dataset in sorted(df["dataset"].unique()):
        part = df[df["dataset"] == dataset]
        for name, fig in dataset_figures(part, dataset, with_ref=with_ref):
            written += save_figure(fig, out_dir / f"{slug(dataset)}_{name}", formats)
    return written
