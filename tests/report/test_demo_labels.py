"""Issue 11, item 3: results of the bundled demo weights are named as such wherever they appear
(`run`'s summary, `list`, report tables, visual captions, plot legends), in a colour that is not the
published ELIC curve's; models a user brings are named by their elic.json.

One real `elicbench run` (jpeg + elic with the demo weights, one 192x192 photograph made from
scikit-image's data, so it needs neither Kodak nor the network) is shared by the tests here. Its
cost is TensorFlow's import and two ELIC models' first calls: tens of seconds.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import CODECS, write_run
from elicbench.analysis.runs import DEMO_NOTE, find_runs
from elicbench.cli import main
from elicbench.codecs.elic.codec import DEMO_COLOUR, DEMO_MODELS, TRAINED_COLOUR, ELICCodec
from elicbench.report import build_report
from elicbench.report.plot import FIXED_COLOURS, codec_colour, plot_runs

DEMO = "elic (demo weights)"
PAPER_PURPLE = FIXED_COLOURS["ref:elic-paper"]


def _demo_models() -> list[dict]:
    """The bundled demo models' elic.json, lowest λ first (the tests follow whatever ships)."""
    import elicbench

    root = Path(elicbench.__file__).parent / "data" / "elic-demo"
    return sorted((json.loads(p.read_text()) for p in root.glob("*/elic.json")), key=lambda m: m["lambda"])


LOWEST, HIGHEST = _demo_models()[0], _demo_models()[-1]
LOW, HIGH = f"{LOWEST['lambda']:g}", f"{HIGHEST['lambda']:g}"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """(run directory, what `elicbench run` printed)."""
    from PIL import Image
    from skimage import data

    root = tmp_path_factory.mktemp("demo-labels")
    images = root / "images"
    images.mkdir()
    Image.fromarray(data.astronaut()[40:232, 160:352]).save(images / "astronaut.png")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["run", "--dataset", str(images), "--codecs", "jpeg,elic", "--qualities", "jpeg=5,20,50,90",
                     "--qualities", f"elic={LOW},{HIGH}", "--jobs", "1", "--no-progress", "--out", str(root / "run")])
    assert code == 0, out.getvalue()
    return root / "run", out.getvalue()


def test_run_summary_names_the_demo_weights(demo_run):
    run_dir, printed = demo_run
    # Summary rows: codec, quality, n_images (1), ...
    rows = [m.groups() for m in (re.match(r"\s*(\S.*?)\s+([\d.]+)\s+1\s", line) for line in printed.splitlines()) if m]
    assert sorted(rows) == [(DEMO, LOW), (DEMO, HIGH), ("jpeg", "20"), ("jpeg", "5"), ("jpeg", "50"),
                            ("jpeg", "90")], printed
    assert printed.rstrip().endswith(f"{DEMO}: {DEMO_NOTE}")
    # The manifest records the name and the colour, so reports and plots read them from the run.
    described = json.loads((run_dir / "manifest.json").read_text())["codecs"]["elic"]
    assert described["display_name"] == DEMO and described["plot_colour"] == DEMO_COLOUR
    assert described["models_source"] == "demo weights"


def test_report_tables_visual_and_html_name_the_demo_weights(demo_run, tmp_path):
    run_dir, _ = demo_run
    report = build_report(find_runs([run_dir]), out_dir=tmp_path, visual_bpp=0.5)
    assert f"| {DEMO} |" in report.markdown
    assert f"- {DEMO}: {DEMO_NOTE}" in report.markdown           # said before any table
    assert report.markdown.index(DEMO_NOTE) < report.markdown.index("| codec |")
    assert [r.codec for r in report.rows] == ["jpeg", DEMO]
    csv = (tmp_path / "bdrate.csv").read_text()
    assert DEMO in csv
    # Visual comparison: the demo tile says so (its label is drawn into the PNG from this list).
    visual = report.visuals[0]
    assert visual.path is not None, visual.notes
    assert [t.label for t in visual.tiles] == ["original", DEMO, "jpeg"]
    html = (tmp_path / "report.html").read_text()
    assert html.count("demo") >= 4                               # the issue found 0
    assert f"<td class=\"\">{DEMO}</td>" in html                 # the BD table's row
    assert "never report them as ELIC results" in html
    runs = html[html.index("<h2>Runs</h2>"):]
    assert f"<td>{DEMO}<br>" in runs and "label in results.csv: elic" in runs
    assert "demo weights:" in runs and f"λ {LOW}: tiny, {LOWEST['steps']:,} steps" in runs


def test_plot_legends_and_colours(demo_run, tmp_path):
    run_dir, _ = demo_run
    paths = plot_runs(find_runs([run_dir]), tmp_path, formats=("svg",))
    for svg in paths:
        text = svg.read_text()
        assert f"<!-- {DEMO} -->" in text, svg.name               # legend text (matplotlib keeps it as a comment)
        assert f"stroke: {DEMO_COLOUR}" in text, svg.name         # the demo curve's colour
        assert PAPER_PURPLE not in text, svg.name
    assert DEMO_COLOUR != PAPER_PURPLE and TRAINED_COLOUR != PAPER_PURPLE


def test_colours_never_the_published_elic_purple():
    # Runs written before codecs recorded a colour: the fixed table, and any '... (demo weights)' label.
    assert codec_colour("elic") != PAPER_PURPLE
    assert codec_colour(DEMO) == DEMO_COLOUR == FIXED_COLOURS[DEMO]
    assert codec_colour("elic[tile=0] (demo weights)") == DEMO_COLOUR
    assert codec_colour("elic (demo weights) (run-a)") == DEMO_COLOUR  # two runs' labels kept apart
    assert FIXED_COLOURS["elic"] == TRAINED_COLOUR
    assert codec_colour(DEMO, {DEMO: "#123456"}) == "#123456"   # a recorded colour wins


def _models_dir(tmp_path: Path, *, name: str | None, demo: bool) -> Path:
    """A models folder with one copy of a demo model, its elic.json edited."""
    models = tmp_path / "models"
    target = models / "mine"
    shutil.copytree(sorted(DEMO_MODELS.glob("*/elic.json"))[0].parent, target)  # any demo model
    info = json.loads((target / "elic.json").read_text())
    info["training"]["demo"] = demo
    if name:
        info["name"] = name
    (target / "elic.json").write_text(json.dumps(info))
    return models


def test_users_models_are_named_by_their_elic_json(tmp_path):
    codec = ELICCodec(models=str(_models_dir(tmp_path, name="my-elic-q5", demo=False)))
    assert codec.display_name == "elic (my-elic-q5)" and codec.plot_colour == TRAINED_COLOUR
    assert not codec.is_demo


def test_users_models_without_a_name_are_named_by_their_preset(tmp_path):
    assert ELICCodec(models=str(_models_dir(tmp_path, name=None, demo=False))).display_name == "elic (tiny)"


def test_demo_weights_copied_elsewhere_are_still_demo_weights(tmp_path):
    codec = ELICCodec(models=str(_models_dir(tmp_path, name=None, demo=True)))
    assert codec.is_demo and codec.display_name == DEMO and codec.plot_colour == DEMO_COLOUR


def test_two_runs_with_demo_weights_are_still_named_and_explained(tmp_path):
    """Runs written before names were recorded (manifest: models_source only), two of them, so the
    labels get their run added ('elic (demo weights) (a)'): still named, still explained first."""
    for name in ("a", "b"):
        run_dir = write_run(tmp_path / "runs" / name, dataset="kodak",
                            codecs={"jpeg": CODECS["jpeg"], "elic": (0.9, [30, 50, 70, 85], 0.3, 0.4)})
        manifest = json.loads((run_dir / "manifest.json").read_text())
        manifest["codecs"]["elic"]["models_source"] = "demo weights"
        (run_dir / "manifest.json").write_text(json.dumps(manifest))
    report = build_report(find_runs([tmp_path / "runs"]), out_dir=tmp_path / "out", visual_bpp=None, plots=False)
    assert {"elic (demo weights) (a)", "elic (demo weights) (b)"} <= {r.codec for r in report.rows}
    assert f"- elic (demo weights) (a), elic (demo weights) (b): {DEMO_NOTE}" in report.markdown
    runs = (tmp_path / "out" / "report.html").read_text().split("<h2>Runs</h2>")[1]
    assert runs.count(f"<td>{DEMO}<br>") == 2                     # the manifest tables name them too
