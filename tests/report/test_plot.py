import warnings
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from conftest import CODECS, write_run
from elicbench.analysis.reference import UnknownReferenceError
from elicbench.analysis.runs import find_runs
from elicbench.report.plot import FIXED_COLOURS, codec_colour, codec_marker, plot_runs, slug

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_png(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        w, h = im.size
    # 8x5.2 in at 150 dpi, legend outside: wider than tall, big enough to read.
    assert 1000 <= w <= 2400 and 600 <= h <= 1200 and w > h
    return w, h


def check_svg(path):
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    paths = root.findall(".//{http://www.w3.org/2000/svg}path")
    assert len(paths) > 10
    return root


def test_plot_runs_writes_png_and_svg_per_metric(tmp_path):
    write_run(tmp_path / "runs" / "a", dataset="kodak")
    out = tmp_path / "plots"
    paths = plot_runs(find_runs([tmp_path / "runs"]), out, with_ref=["vtm", "elic-paper"])
    names = sorted(p.name for p in paths)
    want = sorted(f"kodak_{kind}.{fmt}" for kind in ("rd_psnr", "rd_ms_ssim_db", "time_encode", "time_decode")
                  for fmt in ("png", "svg"))
    assert names == want
    for p in paths:
        assert p.parent == out and p.stat().st_size > 1000
        check_png(p) if p.suffix == ".png" else check_svg(p)
    svg_text = (out / "kodak_rd_psnr.svg").read_text()
    # Legend texts are in the SVG as text or glyph comments; the reference curve is labelled.
    assert "vtm (published)" in svg_text and "webp" in svg_text
    # No timestamp or random ids in the SVG: re-plotting the same run gives the same files.
    again = plot_runs(find_runs([tmp_path / "runs"]), tmp_path / "again", with_ref=["vtm", "elic-paper"])
    assert len(again) == 8
    for p in again:
        assert p.read_bytes() == (out / p.name).read_bytes(), p.name


def test_one_figure_set_per_dataset(tmp_path):
    write_run(tmp_path / "k", dataset="kodak")
    write_run(tmp_path / "c", dataset="/data/my images/")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = plot_runs(find_runs([tmp_path]), tmp_path / "p", formats=("png",), with_ref=["vtm"])
    assert {p.name.split("_")[0] for p in paths} == {"kodak", "my"}
    assert len(paths) == 8
    assert any("no published reference curves for dataset '/data/my images/'" in str(w.message) for w in caught)


def test_bad_inputs(tmp_path):
    runs = find_runs([write_run(tmp_path / "r")])
    with pytest.raises(UnknownReferenceError, match="known:"):
        plot_runs(runs, tmp_path / "p", with_ref=["vvc"])
    with pytest.raises(ValueError, match="png, svg or pdf"):
        plot_runs(runs, tmp_path / "p", formats=("gif",))


def test_colours_are_stable_and_distinct():
    assert codec_colour("jpeg") == FIXED_COLOURS["jpeg"]
    assert codec_colour("jpeg[subsampling=4:4:4]") == codec_colour("jpeg[subsampling=4:4:4]")
    assert codec_colour("jpeg[subsampling=4:4:4]") not in FIXED_COLOURS.values()
    known = [c for c in FIXED_COLOURS if not c.startswith("ref:")]
    assert len({codec_colour(c) for c in known}) == len(known)
    assert codec_marker("ref:vtm") == "." and codec_marker("jpeg") == "o"
    assert slug("/data/my images/") == "my_images" and slug("kodak") == "kodak"


def test_slow_codec_timings_span_log_axis(tmp_path):
    codecs = {"jpeg": CODECS["jpeg"], "elic": (0.5, [1, 2, 3, 4], 3.0, 4.0)}
    paths = plot_runs(find_runs([write_run(tmp_path / "r", codecs=codecs)]), tmp_path / "p", formats=("svg",))
    svg = next(p for p in paths if p.name == "synthetic_time_encode.svg")
    check_svg(svg)
    text = svg.read_text()  # matplotlib keeps each text as a comment beside its glyph paths
    assert "<!-- elic -->" in text and "<!-- jpeg -->" in text
    # 1-2-5 ticks as plain numbers on the log axis, spanning jpeg's ~5 ms to elic's ~3000 ms.
    assert "<!-- 5 -->" in text and "<!-- 2000 -->" in text and "10^{" not in text


def test_codecs_own_their_colours_and_older_runs_get_the_same():
    """Plots take a codec's colour from its run (``Codec.plot_colour``, recorded in the manifest);
    the plot's table for runs written before that must not drift from the codecs'."""
    from elicbench.codecs import CODECS, get_codec

    for name in CODECS.names():
        cls = get_codec(name)
        if isinstance(cls.__dict__.get("plot_colour"), str):
            assert FIXED_COLOURS[name] == cls.plot_colour, name
    jpeg = get_codec("jpeg")
    assert jpeg().describe()["plot_colour"] == FIXED_COLOURS["jpeg"]
    assert jpeg(subsampling="4:4:4").describe()["plot_colour"] is None   # its own colour, from its label
