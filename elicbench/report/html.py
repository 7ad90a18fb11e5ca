"""The self-contained report.html: inline CSS, images as base64 PNG, no external resource."""
from __future__ import annotations

import base64
import html
import json
import math
import shlex
from dataclasses import dataclass, field
from typing import Any, Sequence

from .table import BDRow, table_cells

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1.5em; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
h3 { margin-top: 1.5em; }
.meta { color: #555; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #d8d8d8; padding: 0.3em 0.65em; vertical-align: top; }
th { background: #f3f4f6; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.anchor td { background: #f7f7f7; font-weight: 600; }
tr.published td:first-child { font-style: italic; }
.better { color: #1b7f3b; } .worse { color: #b42318; }
.warnings { background: #fff8e1; border-left: 4px solid #f5b400; padding: 0.5em 1em; margin: 1em 0; }
.warnings li { margin: 0.2em 0; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 1em; }
.visual img { image-rendering: pixelated; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 0.15em 1em; margin: 0.5em 0; }
dl.kv dt { color: #555; } dl.kv dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace;
  font-size: 0.9em; word-break: break-all; }
details { margin: 0.6em 0; } summary { cursor: pointer; font-weight: 600; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.9em; }
"""


@dataclass
class Figure:
    title: str
    png: bytes
    caption: str = ""


@dataclass
class DatasetSection:
    dataset: str
    rows: list[BDRow]
    warnings: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    visual: Figure | None = None
    visual_notes: list[str] = field(default_factory=list)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def img_tag(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}">'


def _sign_class(value: float | None) -> str:
    if value is None or not math.isfinite(value) or value == 0:
        return ""
    return "better" if value < 0 else "worse"


def table_html(rows: Sequence[BDRow]) -> str:
    if not rows:
        return "<p>(no codec results)</p>"
    cells = [table_cells(r) for r in rows]
    header = list(cells[0])
    out = ["<table class=\"bd\">", "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr></thead>",
           "<tbody>"]
    for row, c in zip(rows, cells):
        tds = []
        for h in header:
            cls = "num" if h not in ("codec",) else ""
            if h == "BD-rate" and row.bd_rate is not None:
                cls += " " + _sign_class(row.bd_rate.value)
            elif h.startswith("per-image") and row.per_image is not None:
                cls += " " + _sign_class(row.per_image.mean)
            elif h.startswith("BD-") and row.bd_quality is not None:  # higher quality is better
                v = row.bd_quality.value
                cls += " " + _sign_class(-v if math.isfinite(v) else v)
            tds.append(f'<td class="{cls.strip()}">{_e(c[h])}</td>')
        out.append(f'<tr class="{_e(row.role)}">' + "".join(tds) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def warnings_html(items: Sequence[str], title: str = "Warnings") -> str:
    if not items:
        return ""
    lis = "".join(f"<li>{_e(w)}</li>" for w in items)
    return f'<div class="warnings"><strong>{_e(title)}</strong><ul>{lis}</ul></div>'


def _kv(pairs: Sequence[tuple[str, Any]]) -> str:
    shown = [(k, v) for k, v in pairs if v not in (None, "", [], {})]
    if not shown:
        return ""
    return "<dl class=\"kv\">" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(_text(v))}</dd>" for k, v in shown) + "</dl>"


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return shlex.join(value) if value else ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def manifest_html(run_name: str, run_path: str, manifest: dict[str, Any]) -> str:
    """A run's manifest, summarised: command, versions, hardware, dataset, codecs and settings."""
    if not manifest:
        return f"<h3>{_e(run_name)}</h3><p class=\"meta\">{_e(run_path)}: no manifest.json</p>"
    ds = manifest.get("dataset") or {}
    platform = manifest.get("platform") or {}
    version = manifest.get("elicbench_version", "?")
    if manifest.get("elicbench_commit"):
        version = f"{version} ({manifest['elicbench_commit']})"
    parts = [f"<h3>{_e(run_name)}</h3>", _kv([
        ("directory", run_path),
        ("command", manifest.get("command")),
        ("elicbench", version),
        ("started", manifest.get("started")), ("finished", manifest.get("finished")),
        ("status", manifest.get("status")),
        ("dataset", f"{ds.get('name', '?')} ({len(ds.get('images', []))} images) from {ds.get('source', '?')}" if ds else None),
        ("python", platform.get("python")), ("os", platform.get("os")), ("cpu", platform.get("cpu")),
        ("cores", platform.get("cores")), ("gpu", platform.get("gpus", platform.get("gpu"))),
        ("run", manifest.get("run")),
        ("tensorflow settings", manifest.get("tensorflow_settings")),
    ])]
    codecs = manifest.get("codecs") or {}
    if codecs:
        rows = []
        for label, info in codecs.items():
            info = info or {}
            rows.append("<tr>" + "".join(f"<td>{_e(x)}</td>" for x in (
                label, info.get("name", ""), _text(info.get("settings", {})), _text(info.get("versions", {})),
                info.get("deterministic", ""), ", ".join(map(str, info.get("qualities", []))),
            )) + "</tr>")
        parts.append("<table><thead><tr><th>codec</th><th>name</th><th>settings</th><th>library versions</th>"
                     "<th>deterministic</th><th>qualities</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    packages = manifest.get("packages") or manifest.get("versions") or {}
    if packages:
        parts.append("<details><summary>package versions</summary>" + _kv(sorted(packages.items())) + "</details>")
    images = ds.get("images") or []
    if images:
        lis = "".join(f"<tr><td>{_e(i.get('name', ''))}</td><td><code>{_e(i.get('sha256', ''))}</code></td></tr>"
                      for i in images)
        parts.append(f"<details><summary>dataset files ({len(images)}, SHA-256)</summary>"
                     f"<table><tbody>{lis}</tbody></table></details>")
    return "\n".join(p for p in parts if p)


def render_page(*, title: str, intro: Sequence[str], sections: Sequence[DatasetSection], general_warnings: Sequence[str],
                runs: Sequence[tuple[str, str, dict[str, Any]]]) -> str:
    body = [f"<h1>{_e(title)}</h1>"] + [f'<p class="meta">{_e(line)}</p>' for line in intro]
    body.append(warnings_html(general_warnings))
    for section in sections:
        n = max((r.n_images or 0 for r in section.rows), default=0)
        heading = f"{section.dataset} ({n} images)" if n else section.dataset
        body.append(f"<h2>{_e(heading)}</h2>")
        body.append(table_html(section.rows))
        row_notes = [f"{r.codec}: {w}" for r in section.rows for w in r.warnings]
        body.append(warnings_html(list(section.warnings) + row_notes))
        if section.figures:
            body.append("<h3>Rate-distortion and timing</h3><div class=\"plots\">")
            for fig in section.figures:
                cap = f"<figcaption>{_e(fig.caption)}</figcaption>" if fig.caption else ""
                body.append(f"<figure>{img_tag(fig.png, fig.title)}{cap}</figure>")
            body.append("</div>")
        if section.visual or section.visual_notes:
            body.append("<h3>Visual comparison</h3>")
            if section.visual:
                body.append(f'<figure class="visual">{img_tag(section.visual.png, section.visual.title)}'
                            f"<figcaption>{_e(section.visual.caption)}</figcaption></figure>")
            body.append(warnings_html(section.visual_notes, "Notes"))
    body.append("<h2>Runs</h2>")
    for name, path, manifest in runs:
        body.append(manifest_html(name, path, manifest))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(b for b in body if b) + "\n</body>\n</html>\n")
