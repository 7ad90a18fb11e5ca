"""What `elicbench list` shows: every codec (available or why not, versions, options, default
sweep) and every dataset (where it would be found now)."""
from __future__ import annotations

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
        try:
            row["qualities"] = [format_quality(q) for q in cls().qualities()] if avail else []
        except Exception as exc:
            row["qualities"] = []
            row["reason"] = row["reason"] or str(exc)
        rows.append(row)
    for name, err in CODECS.plugin_errors.items():
        rows.append({"name": name, "available": False, "reason": f"plug-in failed to load: {err}",
                     "summary": "", "versions": {}, "qualities": [], "options": {}, "quality": "",
                     "deterministic": False})
    return rows


def render_listing() -> str:
    from .datasets import describe_datasets

    lines = ["Codecs:"]
    for row in codec_table():
        mark = "yes" if row["available"] else "no "
        lines.append(f"  [{mark}] {row['name']:<11} {row['summary']}")
        if not row["available"]:
            lines.append(f"        not available: {row['reason']}")
            continue
        if row["versions"]:
            lines.append("        versions: " + ", ".join(f"{k} {v}" for k, v in row["versions"].items()))
        if row["options"]:
            lines.append("        options:  " + ", ".join(f"{k}={v}" for k, v in row["options"].items()))
        lines.append(f"        {row['quality']}: {' '.join(row['qualities'])}"
                     + ("" if row["deterministic"] else "   (output may vary between runs)"))
    lines.append("")
    lines.append("Datasets:")
    for d in describe_datasets():
        lines.append(f"  {d['name']:<8} {d.get('description', '')}")
        where = d.get("location") if d.get("present") else None
        lines.append(f"           {where or 'not present: ' + str(d.get('origin') or 'elicbench fetch ' + d['name'])}")
    lines.append("  DIR      any directory of images (png, jpg, ppm, tif, ...), sorted by name")
    return "\n".join(lines)
