import html
import json
import math
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from conftest import CODECS, IMAGES, write_run
from elicbench.analysis.runs import find_runs
from elicbench.report import ReportInputError, build_report
from elicbench.report.plot import plot_runs
from elicbench.report.table import CSV_COLUMNS


class PageParser(HTMLParser):
    """Collects table rows (cell texts), img sources and headings of a page."""

    def __init__(self):
        super().__init__()
        self.rows, self.images, self.headings = [], [], []
        self._row = self._cell = self._heading = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        elif tag == "img":
            self.images.append(dict(attrs))
        elif tag in ("h1", "h2", "h3"):
            self._heading = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append(self._heading.strip())
            self._heading = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._heading is not None:
            self._heading += data


def parse(html_text):
    p = PageParser()
    p.feed(html_text)
    p.close()
    return p


def test_report_table_csv_and_html(tmp_path):
    run_dir = write_run(tmp_path / "run-a", fail={("webp", "img03", 70)})
    report = build_report(find_runs([run_dir]), visual_bpp=None)
    # Default anchor: jpeg. Synthetic webp/avif spend 0.75x/0.6x jpeg's bits at equal PSNR.
    table = pd.read_csv(run_dir / "bdrate.csv")
    assert list(table.columns) == CSV_COLUMNS
    by_codec = table.set_index("codec")
    assert by_codec.loc["jpeg", "role"] == "anchor" and math.isnan(by_codec.loc["jpeg", "bd_rate_pct"])
    assert by_codec.loc["webp", "bd_rate_pct"] == pytest.approx(-25.0, abs=1e-6)
    assert by_codec.loc["avif", "bd_rate_pct"] == pytest.approx(-40.0, abs=1e-6)
    assert by_codec.loc["avif", "per_image_bd_rate_pct"] == pytest.approx(-40.0, abs=1e-6)
    assert by_codec.loc["avif", "bd_quality"] > 1.0
    # webp failed on img03 at one quality: compared on the other 5 images, and said so.
    assert by_codec.loc["webp", "n_images"] == 5 and by_codec.loc["webp", "per_image_n"] == 5
    assert "img03" in by_codec.loc["webp", "warnings"]
    assert by_codec.loc["avif", "encode_ms"] > by_codec.loc["jpeg", "encode_ms"]

    md = report.markdown
    for codec in CODECS:
        assert f"| {codec} |" in md
    assert "| avif | -40.00 % | -40.00 % [-40.00, -40.00] |" in md
    assert "img03" in md

    html_path = run_dir / "report.html"
    assert html_path in report.files and (run_dir / "bdrate.csv") in report.files
    page = parse(html_path.read_text())
    first_cells = [r[0] for r in page.rows if r]
    for codec in CODECS:
        assert codec in first_cells
    avif_row = next(r for r in page.rows if r and r[0] == "avif")
    assert avif_row[1] == "-40.00 %" and avif_row[5] == str(len(IMAGES))
    pngs = [i for i in page.images if i.get("src", "").startswith("data:image/png;base64,")]
    assert len(pngs) == 4  # RD PSNR, RD MS-SSIM, encode and decode time
    assert not [i for i in page.images if not i.get("src", "").startswith("data:")]  # self-contained
    # Manifest summary: command, versions, hardware, codec settings.
    text = html_path.read_text()
    for fact in ("elicbench run --dataset synthetic", "test cpu", "2024-01-01T10:00:00+00:00", "numpy"):
        assert fact in text


def test_anchor_metric_method_and_out_dir(tmp_path):
    run_dir = write_run(tmp_path / "r")
    out = tmp_path / "out"
    report = build_report(find_runs([run_dir]), anchor="webp", metric="ms_ssim_db", method="cubic", out_dir=out,
                          visual_bpp=None, plots=False)
    assert (out / "bdrate.csv").exists() and (out / "report.html").exists()
    assert not (run_dir / "bdrate.csv").exists()
    rows = {r.codec: r for r in report.rows}
    assert rows["webp"].role == "anchor"
    assert rows["jpeg"].bd_rate.value == pytest.approx(100 / 0.75 - 100, abs=1e-6)
    assert rows["jpeg"].bd_rate.method == "cubic" and rows["jpeg"].metric == "ms_ssim_db"
    assert "BD-MS-SSIM" in report.markdown


def test_published_anchor_and_rows(tmp_path):
    run_dir = write_run(tmp_path / "r", dataset="kodak")
    report = build_report(find_runs([run_dir]), anchor="ref:vtm", with_ref=["elic-paper"], visual_bpp=None,
                          plots=False)
    roles = {r.codec: r.role for r in report.rows}
    assert roles == {"ref:vtm": "anchor", "avif": "measured", "jpeg": "measured", "webp": "measured",
                     "ref:elic-paper": "published"}
    elic = next(r for r in report.rows if r.codec == "ref:elic-paper")
    assert elic.bd_rate.value == pytest.approx(-7.358, abs=0.01)
    assert next(r for r in report.rows if r.codec == "jpeg").per_image is None  # no per-image published data
    assert any("average all 24 images" in w for w in report.warnings)  # the run has only 6


def test_several_runs_and_datasets(tmp_path):
    write_run(tmp_path / "runs" / "pillow", dataset="kodak", codecs={k: CODECS[k] for k in ("jpeg", "webp")})
    write_run(tmp_path / "runs" / "learned", dataset="kodak", codecs={"elic": (0.5, [30, 50, 70, 85, 95], 2.0, 2.5)})
    write_run(tmp_path / "runs" / "clic", dataset="clic", codecs={k: CODECS[k] for k in ("jpeg", "avif")})
    report = build_report(find_runs([tmp_path / "runs"]), out_dir=tmp_path / "out", visual_bpp=None, plots=False)
    got = {(r.dataset, r.codec): r.bd_rate.value if r.bd_rate else None for r in report.rows}
    assert got[("kodak", "elic")] == pytest.approx(-50.0, abs=1e-6)
    assert got[("kodak", "webp")] == pytest.approx(-25.0, abs=1e-6)
    assert got[("clic", "avif")] == pytest.approx(-40.0, abs=1e-6)
    assert "## clic (6 images)" in report.markdown and "## kodak (6 images)" in report.markdown
    headings = parse((tmp_path / "out" / "report.html").read_text()).headings
    assert {"clic (6 images)", "kodak (6 images)", "pillow", "learned"} <= set(headings)


def test_bad_anchor_is_a_clear_error(tmp_path):
    runs = find_runs([write_run(tmp_path / "r")])
    with pytest.raises(ReportInputError, match="not a codec of these runs; codecs: avif, jpeg, webp"):
        build_report(runs, anchor="jpg", visual_bpp=None)
    with pytest.raises(ReportInputError, match="no published curves for dataset 'synthetic'"):
        build_report(runs, anchor="ref:vtm", visual_bpp=None)


def test_default_anchor_skips_a_codec_that_failed_everywhere(tmp_path):
    fail = {("jpeg", image, q) for image in IMAGES for q in CODECS["jpeg"][1]}
    report = build_report(find_runs([write_run(tmp_path / "r", fail=fail)]), visual_bpp=None, plots=False)
    assert [(r.codec, r.role) for r in report.rows] == [("avif", "anchor"), ("webp", "measured")]
    assert report.rows[1].bd_rate.value == pytest.approx(100 * 0.75 / 0.6 - 100, abs=1e-6)
    assert any("jpeg: no image was coded successfully" in w for w in report.warnings)


def test_bd_rate_from_a_sliver_of_overlap_is_na_with_the_reason(tmp_path):
    """Issue 11, item 4: a curve over 3 % of the anchor's quality range gets no BD-rate, and says why."""
    codecs = {"jpeg": CODECS["jpeg"], "sliver": (0.8, [30, 31, 32, 33], 0.01, 0.01)}
    run_dir = write_run(tmp_path / "r", codecs=codecs)
    report = build_report(find_runs([run_dir]), visual_bpp=None, plots=False)
    row = next(r for r in report.rows if r.codec == "sliver")
    # Synthetic PSNR rises 3 dB per doubling of bpp = q/20 doublings: 0.45 dB of jpeg's 9.75 dB.
    assert row.bd_rate.overlap_fraction == pytest.approx(3 / 65)
    assert math.isnan(row.bd_rate.value) and row.bd_rate.short_reason == "overlap 4 % < 25 %"
    assert "| sliver | n/a (overlap 4 % < 25 %) |" in report.markdown
    assert "BD-rate undefined: overlap 4 % < 25 %: the curves share" in report.markdown
    cells = next(r for r in parse((run_dir / "report.html").read_text()).rows if r and r[0] == "sliver")
    assert cells[1] == "n/a (overlap 4 % < 25 %)"
    table = pd.read_csv(run_dir / "bdrate.csv", keep_default_na=False).set_index("codec")
    assert table.loc["sliver", "bd_rate_pct"] == ""                        # no number to misread
    assert table.loc["sliver", "bd_rate_reason"].startswith("overlap 4 % < 25 %")
    assert float(table.loc["sliver", "bd_rate_overlap_pct"]) == pytest.approx(100 * 3 / 65)
    assert float(table.loc["sliver", "min_overlap_pct"]) == 25


def test_manifest_section_is_a_readable_table_not_json(tmp_path):
    """Issue 11, item 5: no raw JSON, no Python True/False/None in the report's manifest section."""
    run_dir = write_run(tmp_path / "r")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["command"] = ["elicbench", "run", "--dataset", "my photos", "--codecs", "jpeg,webp,avif"]
    manifest["platform"]["gpus"] = []
    manifest["run"] = {"jobs": 90, "workers": 2, "threads_per_job": 1, "scheduler": None, "target_bpp": None,
                       "wall_s": 12.5}
    manifest["tensorflow_settings"] = {"env": {"TF_ENABLE_ONEDNN_OPTS": "0"}, "tf32": False}
    manifest["codecs"]["jpeg"].update(settings={"subsampling": "4:2:0", "optimize": False, "progressive": True},
                                      versions={"pillow": "13.0.0", "libjpeg-turbo": "3.2.0"})
    manifest["codecs"]["webp"]["deterministic"] = False
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    build_report(find_runs([run_dir]), visual_bpp=None, plots=False)
    html_text = (run_dir / "report.html").read_text()
    runs = html_text[html_text.index("<h2>Runs</h2>"):]
    for literal in ("True", "False", "None", "{", "[", "&quot;"):
        assert literal not in runs, literal
    assert "elicbench run --dataset &#x27;my photos&#x27; --codecs jpeg,webp,avif" in runs  # as a shell line
    page = parse(runs)
    header = next(r for r in page.rows if r and r[0] == "codec")
    assert header == ["codec", "library versions", "settings", "deterministic", "rate points"]
    jpeg = next(r for r in page.rows if r and r[0] == "jpeg")
    assert jpeg[1] == "pillow 13.0.0, libjpeg-turbo 3.2.0"
    assert jpeg[2] == "subsampling 4:2:0, optimize no, progressive yes"
    assert jpeg[3] == "yes" and jpeg[4] == "30, 50, 70, 85, 95"
    assert next(r for r in page.rows if r and r[0] == "webp")[3] == "no"
    assert "TF_ENABLE_ONEDNN_OPTS=0" in runs and "threads per job" in runs and "wall (s)" in runs
    assert "<dt>gpu</dt><dd>none</dd>" in runs


def test_published_curves_say_where_they_come_from(tmp_path):
    """Issue 11, item 5: the report and the plots name the source of each published curve."""
    run_dir = write_run(tmp_path / "r", dataset="kodak")
    build_report(find_runs([run_dir]), anchor="ref:vtm", with_ref=["elic-paper"], visual_bpp=None)
    md = (run_dir / "report.md").read_text()
    vtm = ("ref:vtm: VVC reference software VTM, YCbCr 4:4:4, 8 QPs; from InterDigitalInc/CompressAI "
           "results/image/kodak/vtm.json @ 869a9f5")
    paper = "ref:elic-paper: ELIC (He et al., CVPR 2022), MSE-optimised models, points supplied by the paper's authors; " \
            "from JiangWeibeta/ELIC results/elic_official_kodak.csv @ b240a4c"
    assert f"- {vtm}" in md and f"- {paper}" in md
    html_text = (run_dir / "report.html").read_text()
    assert vtm in html_text and html.escape(paper, quote=True) in html_text
    # The plots carry it in small print under the axes.
    paths = plot_runs(find_runs([run_dir]), tmp_path / "plots", with_ref=["vtm", "elic-paper"], formats=("svg",))
    # matplotlib writes each text line as a comment beside its glyphs; the footnote wraps.
    svg = " ".join(re.findall(r"<!-- (.*?) -->", next(p for p in paths if p.name == "kodak_rd_psnr.svg").read_text()))
    assert "vtm from InterDigitalInc/CompressAI @ 869a9f5; elic-paper from JiangWeibeta/ELIC @ b240a4c" in svg
    time_svg = next(p for p in paths if p.name == "kodak_time_encode.svg").read_text()
    assert "InterDigitalInc" not in time_svg                      # no published curve there


@pytest.mark.parametrize("metric, bd_quality, expected", [
    ("psnr", 0.4, "better"), ("psnr", -0.4, "worse"),
    ("ciede2000", -0.4, "better"), ("ciede2000", 0.4, "worse"),   # lower ΔE is better
])
def test_bd_quality_is_coloured_by_the_metrics_direction(metric, bd_quality, expected):
    import numpy as np

    from elicbench.analysis.bdrate import BDResult
    from elicbench.analysis.curves import Curve
    from elicbench.report.html import table_html
    from elicbench.report.table import BDRow

    curve = Curve("webp", np.array([0.2, 0.5, 1.0]), np.array([3.0, 2.0, 1.5]), "measured", metric)
    row = BDRow("kodak", "webp", "measured", "jpeg", metric, "pchip", curve,
                bd_rate=BDResult(-10.0, "pchip", (1.5, 3.0)),
                bd_quality=BDResult(bd_quality, "pchip", (0.2, 1.0), kind="quality"))
    page = table_html([row])
    headers = re.findall(r"<th>([^<]*)</th>", page)
    classes = re.findall(r'<td class="([^"]*)">', page)
    column = next(i for i, h in enumerate(headers) if h.startswith("BD-") and h != "BD-rate")
    assert expected in classes[column].split()
