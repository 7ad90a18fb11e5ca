"""What `elicbench list` shows: every codec (available or why not, deterministic or not, versions,
options, default sweep) and every dataset (where it would be found now, or how to get it)."""
from __future__ import annotations

import textwrap
from typing import Any


def codec_table() -> list[dict[str, Any]]:
    from .codecs import CODECS, format_quality

    rows = []
    for name in CODECS.names():
        cls = CODECS.get(name)
        avail = cls.availability()
        row: dict[str, Any] = {"name": name, "available": bool(avail), "reason": avail.reason,
                               "summary": cls.summary, "deterministic": cls.deterministic,
                               "quality": cls.quality_scale.name,
                               "options": {k: o.default for k, o in cls.options.items()}}
        try:
            row["versions"] = cls.versions() if avail else {}
        except Exception as exc:  # a plug-in's version probe must not break the listing
            row["versions"] = {"error": str(exc)}
        row["notes"] = []
        try:
            codec = cls() if avail else None
            row["qualities"] = [format_quality(q) for q in codec.qualities()] if codec else []
            row["notes"] = list(codec.listing_notes()) if codec else []
        except Exception as exc:
            row["qualities"] = []
            row["reason"] = row["reason"] or str(exc)
        rows.append(row)
    for name, err in CODECS.plugin_errors.items():
        rows.append({"name": name, "available": False, "reason": f"plug-in failed to load: {err}",
                     "summary": "", "versions": {}, "qualities": [], "options": {}, "quality": "",
                     "deterministic": False, "notes": []})
    return rows


DETERMINISM_NOTE = ("deterministic: the same image, settings and library versions (for elic also the same "
                    "numerics settings) give byte-identical files, so `elicbench check` requires identical bytes; "
                    "for the others it allows --bytes-tolerance")


def metric_table() -> list[dict[str, Any]]:
    """Every registered metric: unit, direction, how RD curves show it, minimum size, library and version."""
    from .metrics import DEFAULT_METRICS, METRICS

    rows = []
    for name in METRICS.names():
        cls = METRICS.get(name)
        why = cls.available()
        rows.append({"name": name, "label": cls.label, "unit": cls.unit, "higher_is_better": cls.higher_is_better,
                     "shown_as": cls.display_axis(), "min_side": cls.min_side, "library": cls.library,
                     "version": cls.version() if not why else "", "available": why is None, "reason": why or "",
                     "default": name in DEFAULT_METRICS})
    for name, err in METRICS.plugin_errors.items():
        rows.append({"name": name, "label": "", "unit": "", "higher_is_better": True, "shown_as": name, "min_side": 1,
                     "library": "", "version": "", "available": False, "reason": f"plug-in failed to load: {err}",
                     "default": False})
    return rows


def render_listing() -> str:
    from .datasets import describe_datasets

    lines = ["Codecs:", f"  {'':5} {'name':<11} {'deterministic':<13}  summary"]
    for row in codec_table():
        mark = "yes" if row["available"] else "no "
        determinism = "yes" if row["deterministic"] else ("no" if row["summary"] else "?")
        lines.append(f"  [{mark}] {row['name']:<11} {determinism:<13}  {row['summary']}")
        if not row["available"]:
            lines.append(f"        not available: {row['reason']}")
            continue
        if row["versions"]:
            lines.append("        versions: " + ", ".join(f"{k} {v}" for k, v in row["versions"].items()))
        if row["options"]:
            lines.append("        options:  " + ", ".join(f"{k}={v}" for k, v in row["options"].items()))
        lines.append(f"        {row['quality']}: {' '.join(row['qualities'])}")
        for note in row["notes"]:
            lines += textwrap.wrap(note, width=110, initial_indent="        ", subsequent_indent="          ",
                                   break_on_hyphens=False)
    lines += textwrap.wrap(f"({DETERMINISM_NOTE})", width=110, initial_indent="  ", subsequent_indent="   ",
                           break_on_hyphens=False)
    lines.append("")
    lines.append("Metrics (run --metrics A,B,...; report/check --metric AXIS; * = default):")
    lines.append(f"  {'':5} {'name':<12} {'unit':<5} {'better':<7} {'axis':<11} {'min px':<7} library")
    for m in metric_table():
        mark = "yes" if m["available"] else "no "
        star = "*" if m["default"] else " "
        better = "higher" if m["higher_is_better"] else "lower"
        lines.append(f"  [{mark}] {m['name'] + star:<12} {m['unit'] or '-':<5} {better:<7} {m['shown_as']:<11} "
                     f"{m['min_side']:<7} {m['library']} {m['version']}".rstrip())
        if not m["available"]:
            lines.append(f"        not available: {m['reason']}")
    lines.append("  (also: psnr_pooled, psnr_y_pooled: PSNR of the MSE pooled over every pixel of a rate point's images)")
    lines.append("")
    lines.append("Datasets:")
    for d in describe_datasets():
        lines.append(f"  {d['name']:<8} {d.get('description', '')}")
        lines.append(f"           {_dataset_state(d)}")
    lines.append("  DIR      any directory of images (png, jpg, ppm, tif, ...), sorted by name")
    return "\n".join(lines)


def _dataset_state(d: dict[str, Any]) -> str:
    """Where a dataset is, or what is missing and how to get it."""
    name = d["name"]
    if d.get("present"):
        return f"{d['location']} ({d['source']})" if d.get("source") not in (None, "", d.get("location")) \
            else str(d["location"])
    get = (f"get it with `elicbench fetch {name}` ({d.get('origin') or 'download'}), or set ELICBENCH_DATA=DIR "
           f"with the files in DIR/{name}/")
    if d.get("location"):
        missing = d.get("missing") or []
        return f"incomplete at {d['location']} ({d['source']}): {len(missing)} file(s) missing; {get}"
    return f"not present: {get}"
