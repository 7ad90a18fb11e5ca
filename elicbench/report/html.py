"""The self-contained report.html: inline CSS, images as base64 PNG, no external resource."""
from __future__ import annotations

import base64
import html
import math
import shlex
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..analysis.runs import series_name
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
table.manifest td:first-child { white-space: nowrap; } table.manifest td:last-child { min-width: 14em; }
dl.kv dl.kv { margin: 0; } dl.kv dl.kv dt { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
td.na { color: #777; }
ul.refs { margin-top: 0.2em; font-size: 0.92em; color: #333; }
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
    #: Where the section's published curves come from (one line each).
    references: list[str] = field(default_factory=list)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def img_tag(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{_e(alt)}">'


def _sign_class(value: float | None) -> str:
    if value is None or not math.isfinite(value) or value == 0:
        return ""
    return "better" if value < 0 else "worse"


def _higher_is_better(metric: str) -> bool:
    from ..metrics import get_axis

    return get_axis(metric).higher_is_better


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
            elif h.startswith("BD-") and row.bd_quality is not None:
                # Better quality is up for PSNR, down for a lower-is-better metric such as CIEDE2000.
                v = row.bd_quality.value
                cls += " " + _sign_class(-v if math.isfinite(v) and _higher_is_better(row.metric) else v)
            if c[h].startswith("n/a"):
                cls += " na"
            tds.append(f'<td class="{cls.strip()}">{_e(c[h])}</td>')
        out.append(f'<tr class="{_e(row.role)}">' + "".join(tds) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def warnings_html(items: Sequence[str], title: str = "Warnings") -> str:
    if not items:
        return ""
    lis = "".join(f"<li>{_e(w)}</li>" for w in items)
    return f'<div class="warnings"><strong>{_e(title)}</strong><ul>{lis}</ul></div>'


def images_text(n: int) -> str:
    return f"{n} image" if n == 1 else f"{n} images"


def row_notes(rows: Sequence[BDRow]) -> list[str]:
    """Each row's warnings, prefixed with its codec unless the warning already starts with it."""
    return [w if w.startswith(f"{r.codec}: ") else f"{r.codec}: {w}" for r in rows for w in r.warnings]


# --- the manifest, readable: no JSON, no Python literals ---------------------------------------------

def readable(value: Any) -> str:
    """A manifest value as text a reader expects: yes/no, '-', '1.5', 'a, b', 'key value, ...'."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "" or value == [] or value == {}:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(readable(v) for v in value)
    if isinstance(value, dict):  # environment variables as NAME=value, other keys as words
        return ", ".join(f"{k}={readable(v)}" if _is_env_name(k) else f"{_key(k)} {readable(v)}"
                         for k, v in value.items())
    return str(value)


def _is_env_name(key: Any) -> bool:
    return isinstance(key, str) and key.isupper()


def _key(key: Any) -> str:
    """'threads_per_job' -> 'threads per job', 'wall_s' -> 'wall (s)'; NAMES_LIKE_THIS stay as they are."""
    key = str(key)
    if _is_env_name(key) or "_" not in key:
        return key
    if key.endswith("_s"):
        key = key[:-2] + " (s)"
    return key.replace("_", " ")


def _value_html(value: Any) -> str:
    """A mapping of more than a few entries, or holding mappings, as a nested list; the rest as text."""
    if isinstance(value, dict) and value and (len(value) > 3 or any(isinstance(v, dict) for v in value.values())):
        return _kv(list(value.items()))
    return _e(readable(value))


def _kv(pairs: Sequence[tuple[str, Any]]) -> str:
    shown = [(k, v) for k, v in pairs if v not in (None, "", [], {})]
    if not shown:
        return ""
    return "<dl class=\"kv\">" + "".join(f"<dt>{_e(_key(k))}</dt><dd>{_value_html(v)}</dd>" for k, v in shown) + "</dl>"


def _command(value: Any) -> str | None:
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return shlex.join(value) if value else None
    return None if value is None else str(value)


def _settings_text(info: dict[str, Any]) -> str:
    """'subsampling 4:2:0, optimize no'; an empty setting (the default, e.g. ELIC's models) says so."""
    settings = info.get("settings") or {}
    if not isinstance(settings, dict):
        return readable(settings)
    return ", ".join(f"{_key(k)} {readable(v) if v != '' else '(default)'}" for k, v in settings.items()) or "-"


def _models_lines(info: dict[str, Any]) -> list[str]:
    """ELIC-style model list: where they came from, then per model its λ, preset, steps and model id."""
    models = info.get("models")
    if not isinstance(models, list) or not models:
        return []
    parts = []
    for m in models:
        if not isinstance(m, dict):
            continue
        bits = [str(m.get("name") or m.get("preset") or m.get("kind") or "model")]
        if m.get("steps") is not None:
            bits.append(f"{m['steps']:,} steps" if isinstance(m["steps"], int) else f"{m['steps']} steps")
        if m.get("model_id"):
            bits.append(f"id {str(m['model_id'])[:8]}")
        lam = m.get("lambda")
        parts.append(f"λ {readable(lam)}: {', '.join(bits)}" if lam is not None else ", ".join(bits))
    source = info.get("models_source")
    return ([f"{source}:"] if source else []) + parts


def codecs_table_html(codecs: dict[str, Any]) -> str:
    """One row per codec: the name a reader sees (and the label results.csv uses), library versions,
    settings, deterministic yes/no, rate points, and for ELIC its models."""
    rows = []
    with_models = any(_models_lines(info) for info in codecs.values() if isinstance(info, dict))
    for label, info in codecs.items():
        info = info if isinstance(info, dict) else {}
        shown = series_name(label, info)  # also for runs that recorded no display name
        name = _e(shown) + (f'<br><span class="meta">label in results.csv: {_e(label)}</span>' if shown != label else "")
        quality = info.get("quality") or {}
        qualities = readable(list(info.get("qualities") or []))
        if isinstance(quality, dict) and quality.get("name") and qualities != "-":
            qualities = f"{quality['name']}: {qualities}"
        cells = [name, _e(readable(info.get("versions") or {})), _e(_settings_text(info)),
                 _e(readable(info.get("deterministic")) if "deterministic" in info else "?"), _e(qualities)]
        if with_models:
            cells.append("<br>".join(_e(line) for line in _models_lines(info)) or "-")
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = ["codec", "library versions", "settings", "deterministic", "rate points"] + (["models"] if with_models else [])
    return ('<table class="manifest"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def manifest_html(run_name: str, run_path: str, manifest: dict[str, Any]) -> str:
    """A run's manifest, summarised: command, versions, hardware, dataset, codecs and settings."""
    if not manifest:
        return f"<h3>{_e(run_name)}</h3><p class=\"meta\">{_e(run_path)}: no manifest.json</p>"
    ds = manifest.get("dataset") or {}
    platform = manifest.get("platform") or {}
    version = manifest.get("elicbench_version", "?")
    if manifest.get("elicbench_commit"):
        version = f"{version} ({manifest['elicbench_commit']})"
    gpus = platform.get("gpus", platform.get("gpu"))
    parts = [f"<h3>{_e(run_name)}</h3>", _kv([
        ("directory", run_path),
        ("command", _command(manifest.get("command"))),
        ("elicbench", version),
        ("started", manifest.get("started")), ("finished", manifest.get("finished")),
        ("status", manifest.get("status")),
        ("dataset", f"{ds.get('name', '?')} ({images_text(len(ds.get('images', [])))}) from {ds.get('source', '?')}"
         if ds else None),
        ("python", platform.get("python")), ("os", platform.get("os")), ("cpu", platform.get("cpu")),
        ("cores", platform.get("cores")), ("gpu", "none" if gpus in ([], None) and "gpus" in platform else gpus),
        ("run", manifest.get("run")),
        ("tensorflow settings", manifest.get("tensorflow_settings")),
    ])]
    codecs = manifest.get("codecs") or {}
    if isinstance(codecs, dict) and codecs:
        parts.append(codecs_table_html(codecs))
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
        heading = f"{section.dataset} ({images_text(n)})" if n else section.dataset
        body.append(f"<h2>{_e(heading)}</h2>")
        body.append(table_html(section.rows))
        if section.references:
            body.append('<p class="meta">Published curves (not measured here):</p><ul class="refs">'
                        + "".join(f"<li>{_e(ref)}</li>" for ref in section.references) + "</ul>")
        body.append(warnings_html(list(section.warnings) + row_notes(section.rows)))
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
