"""``elicbench report``: BD tables for one or more runs, as Markdown, bdrate.csv and report.html."""
from __future__ import annotations

import warnings as pywarnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..analysis.bdrate import check_method
from ..analysis.curves import axis_label, check_metric, direction_note
from ..analysis.reference import REF_PREFIX, check_reference_names, reference_curve, reference_datasets
from ..analysis.runs import DEMO_NOTE, Run, combined_results, is_demo_name
from .html import DatasetSection, Figure, images_text, render_page, row_notes
from .matched import matched_html, matched_markdown, matched_table
from .plot import slug
from .table import CSV_COLUMNS, BDRow, ReportInputError, dataset_rows, markdown_table
from .visual import visual_comparison

BDRATE_FILE = "bdrate.csv"
HTML_FILE = "report.html"
MARKDOWN_FILE = "report.md"

_FIGURE_TITLES = {
    "rd_psnr": "bpp vs PSNR (RGB)", "rd_ms_ssim_db": "bpp vs MS-SSIM (dB)",
    "time_encode": "encode time vs bpp", "time_decode": "decode time vs bpp",
}


@dataclass
class Report:
    """What ``build_report`` made. ``table`` is bdrate.csv's content; ``files`` what was written."""

    markdown: str
    html: str
    rows: list[BDRow]
    table: "pandas.DataFrame"
    warnings: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    visuals: list = field(default_factory=list)


def build_report(runs: Sequence[Run], *, anchor: str | None = None, metric: str = "psnr", method: str = "pchip",
                 with_ref: Sequence[str] = (), out_dir: str | Path | None = None, visual_bpp: float | None = 0.5,
                 plots: bool = True) -> Report:
    """BD-rate / BD-quality of every codec against ``anchor``, per dataset, over all ``runs``.

    ``anchor``: a codec label of the runs or a published curve ``ref:NAME``; default 'jpeg' when a
    dataset has it, else its first codec. ``metric``: any axis of a registered metric ('psnr', 'ms_ssim_db', 'psnr_pooled', 'ssimulacra2', ...).
    ``method``: 'pchip', 'akima' or 'cubic'. ``with_ref``: published curves to add as rows and to
    the plots. Writes bdrate.csv, report.md and report.html (plus visual_<dataset>.png) into
    ``out_dir`` (default: the first run's directory). ``visual_bpp``: target bpp of the visual
    comparison, None to skip it: the crops the runs stored at that bpp (``elicbench run`` stores them
    at 0.5 bpp, ``elicbench visual RUN_DIR --target-bpp B`` at others; the report codes nothing).
    ``plots``: embed the RD and timing plots in the HTML.
    """
    import pandas as pd

    check_metric(metric)
    check_method(method)
    with_ref = check_reference_names(with_ref)
    runs = list(runs)
    if not runs:
        raise ReportInputError("no runs to report on")
    df = combined_results(runs)
    out = Path(out_dir) if out_dir is not None else runs[0].path
    out.mkdir(parents=True, exist_ok=True)

    datasets = sorted(df["dataset"].unique())
    # `--anchor elic` names the codec as its run labelled it; tables show its display name.
    shown_as = dict(zip(df["codec_label"], df["codec"]))
    if anchor and anchor not in set(df["codec"]) and anchor in shown_as:
        anchor = shown_as[anchor]
    if anchor and not anchor.startswith(REF_PREFIX) and anchor not in set(df["codec"]):
        raise ReportInputError(f"anchor {anchor!r} is not a codec of these runs; codecs: "
                               f"{', '.join(sorted(df['codec'].unique()))} (or a published curve, e.g. ref:vtm)")
    general: list[str] = [] if datasets else ["the runs hold no result rows (did `elicbench run` finish any job?)"]
    demo = sorted(c for c in df["codec"].unique() if is_demo_name(c))
    if demo:  # said first: a reader must not take these for ELIC's performance
        general.append(f"{', '.join(demo)}: {DEMO_NOTE}")
    sections: list[DatasetSection] = []
    all_rows: list[BDRow] = []
    visuals = []
    for dataset in datasets:
        part = df[df["dataset"] == dataset]
        if anchor and not anchor.startswith(REF_PREFIX) and anchor not in set(part["codec"]):
            general.append(f"dataset {dataset}: anchor {anchor} not run on it; no BD table for it")
            continue
        rows, notes = dataset_rows(part, dataset, anchor=anchor, metric=metric, method=method, with_ref=with_ref)
        section = DatasetSection(dataset, rows, notes)
        section.references = published_sources(dataset, [r.codec for r in rows if r.codec.startswith(REF_PREFIX)])
        all_rows += rows
        if plots:
            section.figures = _figures(part, dataset, with_ref, anchor, section.warnings)
        if visual_bpp is not None:
            visual = visual_comparison(part, dataset, [(r.name, r.path) for r in runs],
                                       out / f"visual_{slug(dataset)}.png", target_bpp=visual_bpp)
            visuals.append(visual)
            section.visual_notes = list(visual.notes)
            if visual.path is not None:
                left, top, right, bottom = visual.crop_box
                caption = (f"{visual.image}, crop {right - left}x{bottom - top} at ({left}, {top}); each codec at its "
                           f"rate point closest to {visual_bpp:g} bpp on this image, coded again by its run "
                           f"(bpp and PSNR of the whole image)")
                section.visual = Figure(f"visual comparison {dataset}", visual.path.read_bytes(), caption)
        sections.append(section)

    table = pd.DataFrame([r.record() for r in all_rows], columns=CSV_COLUMNS)
    anchors = sorted({r.anchor for r in all_rows})
    intro = [
        f"Runs: {', '.join(str(r.path) for r in runs)}",
        f"Anchor: {', '.join(anchors) or '-'}; quality metric: {axis_label(metric)}{direction_note(metric)}; BD method: {method}. "
        f"BD-rate < 0: fewer bits than the anchor at equal quality; BD-quality > 0: higher quality at equal rate.",
        "Per-image BD-rate: each image's own curves; mean over images with a 95 % percentile-bootstrap CI "
        "(2000 resamples over images, seed 0).",
    ]
    markdown = _markdown(intro, sections, general)
    html_text = render_page(title="elicbench report", intro=intro, sections=sections, general_warnings=general,
                            runs=[(r.name, str(r.path), r.manifest) for r in runs])
    matched = matched_table(df)
    if matched is not None:  # rate-matched runs: quality at the matched bpp, beside the BD table
        markdown += "\n" + matched_markdown(matched)
        html_text = html_text.replace("</body>", matched_html(matched) + "</body>", 1)

    files = []
    csv_path = out / BDRATE_FILE
    table.to_csv(csv_path, index=False)
    files.append(csv_path)
    md_path = out / MARKDOWN_FILE
    md_path.write_text(markdown, encoding="utf-8")
    files.append(md_path)
    html_path = out / HTML_FILE
    html_path.write_text(html_text, encoding="utf-8")
    files.append(html_path)
    files += [v.path for v in visuals if v.path is not None]
    all_warnings = general + [w for s in sections for w in s.warnings] + \
        [f"{r.dataset}/{w}" for r in all_rows for w in row_notes([r])]
    return Report(markdown, html_text, all_rows, table, all_warnings, files, visuals)


def _markdown(intro: list[str], sections: list[DatasetSection], general: list[str]) -> str:
    lines = ["# elicbench report", ""] + [f"{line}  " for line in intro] + [""]
    lines += [f"- {w}" for w in general] + ([""] if general else [])
    for section in sections:
        n = max((r.n_images or 0 for r in section.rows), default=0)
        lines += [f"## {section.dataset}" + (f" ({images_text(n)})" if n else ""), "", markdown_table(section.rows)]
        if section.references:
            lines += ["Published curves (not measured here):", ""] + [f"- {ref}" for ref in section.references] + [""]
        notes = list(section.warnings) + row_notes(section.rows)
        notes += section.visual_notes
        if notes:
            lines += ["Notes:", ""] + [f"- {w}" for w in notes] + [""]
    return "\n".join(lines).rstrip() + "\n"


def published_sources(dataset: str, labels: Sequence[str]) -> list[str]:
    """'ref:vtm: VVC reference software VTM, ...; from InterDigitalInc/CompressAI results/... @ 869a9f5'
    for each published curve in ``labels`` (from the shipped SOURCE.md)."""
    out = []
    for label in labels:
        ref = reference_curve(label, dataset)
        what = f"{ref.description}; " if ref.description else ""
        out.append(f"{label}: {what}from {ref.origin or 'an unrecorded source'}")
    return out


def _figures(part, dataset: str, with_ref: Sequence[str], anchor: str | None, notes: list[str]) -> list[Figure]:
    from .plot import dataset_figures, figure_png_bytes

    refs = list(with_ref) if dataset in reference_datasets() else []  # dataset_rows already says why not
    if anchor and anchor.startswith(REF_PREFIX) and anchor[len(REF_PREFIX):] not in refs:
        refs.insert(0, anchor[len(REF_PREFIX):])
    with pywarnings.catch_warnings(record=True) as caught:
        pywarnings.simplefilter("always")
        figures = dataset_figures(part, dataset, with_ref=refs)
    notes += [str(w.message) for w in caught if str(w.message) not in notes]
    return [Figure(_figure_title(name), figure_png_bytes(fig)) for name, fig in figures]


def _figure_title(name: str) -> str:
    """'bpp vs PSNR (RGB)'; for another metric's plot ('rd_ssimulacra2') its axis label."""
    if name in _FIGURE_TITLES:
        return _FIGURE_TITLES[name]
    return f"bpp vs {axis_label(name[3:])}" if name.startswith("rd_") else name
