"""The visual comparison: crops made where codecs run (``elicbench.crops``: during `run`, or
`elicbench visual RUN_DIR`), stored in the run directory, and drawn by the report, which reads them only."""
import hashlib
import io
import json

import numpy as np
import pytest
from PIL import Image

from conftest import CODECS, write_run
from elicbench import crops as crops_module
from elicbench.analysis.runs import combined_results, find_runs, load_run
from elicbench.codecs import Codec, QualityScale, codec_names, register_codec
from elicbench.crops import crops_for_run, detailed_crop
from elicbench.jobs import CodecSpec
from elicbench.report import build_report
from elicbench.report.visual import COLUMNS, TILE_GAP, TILE_LABEL_HEIGHT, visual_comparison


class PillowJPEG:
    """Stands in for a registered codec: quality is the JPEG quality."""

    def validate_quality(self, q):
        return int(q)

    def encode(self, image, quality):
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, format="JPEG", quality=int(quality))
        return buf.getvalue()

    def decode(self, data):
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))


def textured_image(h=300, w=400, seed=0):
    """Smooth gradient with one noisy patch at rows 180-260, columns 250-330."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 / w, y * 255 / h, np.full_like(x, 128.0)], axis=-1)
    img[180:260, 250:330] = rng.integers(0, 256, size=(80, 80, 3))
    return img.astype(np.uint8)


def test_detailed_crop_finds_the_texture():
    left, top, right, bottom = detailed_crop(textured_image(), size=96, step=8)
    assert (right - left, bottom - top) == (96, 96)
    assert left <= 250 and right >= 330 and top <= 180 and bottom >= 260
    # Smaller than the crop: the whole image.
    assert detailed_crop(np.zeros((50, 60, 3), np.uint8), size=256) == (0, 0, 60, 50)


def make_dataset_run(tmp_path, sha_ok=True):
    data = tmp_path / "images"
    data.mkdir()
    names = ["img00", "img01"]
    for i, n in enumerate(names):
        Image.fromarray(textured_image(seed=i)).save(data / f"{n}.png")
    run_dir = write_run(tmp_path / "run", dataset="synthetic", images=names,
                        codecs={"jpeg": CODECS["jpeg"], "webp": CODECS["webp"]})
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["dataset"].update(root=str(data), images=[
        {"name": n, "file": f"{n}.png",
         "sha256": hashlib.sha256((data / f"{n}.png").read_bytes()).hexdigest() if sha_ok else "0" * 64}
        for n in names])
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    return run_dir


if "test-jpg" not in codec_names():
    @register_codec("test-jpg")
    class StandIn(PillowJPEG, Codec):
        """The stand-in, registered: `elicbench visual` creates it in place of the codec the manifest records."""

        extension = "jpg"
        quality_scale = QualityScale("quality", 1, 100)
        summary = "test stand-in (JPEG through Pillow)"

STAND_IN = CodecSpec("test-jpg")


def test_grid_of_crops_with_a_stand_in_codec(tmp_path, monkeypatch):
    run_dir = make_dataset_run(tmp_path, sha_ok=False)
    monkeypatch.setattr(crops_module, "_manifest_codec", lambda label, described, options: STAND_IN)
    crops_for_run(run_dir, target_bpps=[1.0], crop=128)     # what `elicbench visual RUN_DIR` does
    run = load_run(run_dir)
    out = tmp_path / "grid.png"
    v = visual_comparison(combined_results([run]), "synthetic", [(run.name, run.path)], out, target_bpp=1.0)
    assert v.path == out and v.image == "img00"
    assert [t.label for t in v.tiles] == ["original", "jpeg", "webp"]
    # Synthetic jpeg bpp at img00 are 0.1*2^(q/20): 1.0 bpp is closest to q=70 (1.13 bpp).
    assert v.tiles[1].quality == "70"
    assert all(t.pixels.shape == (128, 128, 3) for t in v.tiles)
    assert 20 < v.tiles[1].psnr < 60 and v.tiles[1].bpp > 0
    assert any("SHA-256 mismatch" in n for n in v.notes)
    assert any("bytes, the run recorded" in n for n in v.notes)  # the stand-in is not the run's codec
    with Image.open(out) as im:
        assert im.size == (3 * (128 + TILE_GAP) + TILE_GAP, 128 + TILE_LABEL_HEIGHT + 2 * TILE_GAP)
    assert COLUMNS >= 3


def test_missing_image_or_codec_is_a_note_not_an_error(tmp_path):
    run_dir = make_dataset_run(tmp_path)
    for f in (tmp_path / "images").iterdir():
        f.unlink()
    report = build_report(find_runs([run_dir]), visual_bpp=0.5, plots=False)
    assert report.visuals[0].path is None
    assert any("visual comparison skipped" in n for n in report.visuals[0].notes)
    assert "visual comparison skipped" in report.markdown


def test_real_codecs_on_kodak(tmp_path, kodak_dir):
    codecs = pytest.importorskip("elicbench.codecs", reason="codec registry not importable", exc_type=ImportError)
    for name in ("jpeg", "webp"):
        if name not in codecs.codec_names():
            pytest.skip(f"codec {name} not registered")
    names = ["kodim01", "kodim23"]
    run_dir = write_run(tmp_path / "run", dataset="kodak", images=names,
                        codecs={"jpeg": CODECS["jpeg"], "webp": CODECS["webp"]})
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["dataset"].update(root=str(kodak_dir), images=[{"name": n, "file": f"{n}.png"} for n in names])
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    crops_for_run(run_dir)
    report = build_report(find_runs([run_dir]), visual_bpp=0.5, plots=False)
    v = report.visuals[0]
    assert v.path is not None and v.path in report.files, v.notes
    assert [t.label for t in v.tiles] == ["original", "jpeg", "webp"]
    assert all(t.pixels.shape == (256, 256, 3) for t in v.tiles)
    assert 0.05 < v.tiles[1].bpp < 8 and 20 < v.tiles[1].psnr < 60
    assert "data:image/png;base64," in report.html and "Visual comparison" in report.html


def _photo_folder(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(textured_image(seed=i)).save(folder / f"img{i:02d}.png")
    return folder


def test_a_run_stores_crops_and_the_report_only_reads_them(tmp_path):
    from elicbench.codecs import format_quality
    from elicbench.results import load_results
    from elicbench.runner import RunConfig, run_benchmark

    config = dict(dataset=str(_photo_folder(tmp_path)), codecs=["jpeg", "webp"], jobs=1, progress=False,
                  qualities={"jpeg": [10, 50, 90], "webp": [10, 50, 90]})
    run_dir = run_benchmark(RunConfig(out=tmp_path / "run", **config)).run_dir
    index = json.loads((run_dir / "visual" / "index.json").read_text())
    assert index["format"] == "elicbench-visual" and index["image"] == "img00"
    assert [s["target_bpp"] for s in index["sets"]] == [0.5] and index["sets"][0]["notes"] == []
    tiles = index["sets"][0]["tiles"]
    assert sorted(t["codec"] for t in tiles) == ["jpeg", "webp"]
    results = load_results(run_dir / "results.csv")
    for tile in tiles:
        # The rate point measured closest to 0.5 bpp on that image, coded again: same file, same PSNR.
        rows = results[(results["codec"] == tile["codec"]) & (results["image"] == "img00")]
        nearest = rows.loc[(rows["bpp"] - 0.5).abs().idxmin()]
        assert tile["quality"] == format_quality(nearest["quality"]) and tile["bytes"] == nearest["bytes"]
        assert tile["psnr"] == pytest.approx(nearest["psnr"]) and tile["bpp"] == pytest.approx(nearest["bpp"])
        with Image.open(run_dir / "visual" / tile["file"]) as im:
            assert im.size == (256, 256)
    assert (run_dir / "visual" / index["original"]).is_file()

    report = build_report(find_runs([run_dir]), out_dir=tmp_path / "report", plots=False)
    v = report.visuals[0]
    assert v.path is not None and v.notes == [] and [t.label for t in v.tiles] == ["original", "jpeg", "webp"]
    assert "coded again by its run" in report.html

    # --no-visual: no crops, and the report says how to make them.
    quiet = run_benchmark(RunConfig(out=tmp_path / "quiet", visual_bpp=None, **config)).run_dir
    assert not (quiet / "visual").exists()


def test_no_crops_or_crops_at_another_bpp_is_a_note_saying_how_to_make_them(tmp_path, monkeypatch):
    from elicbench.cli import main

    old = write_run(tmp_path / "old")                          # written before runs stored crops
    report = build_report(find_runs([old]), out_dir=tmp_path / "r1", plots=False)
    assert report.visuals[0].path is None
    assert "not available for run old" in report.markdown
    assert f"make them with `elicbench visual {old}`" in report.markdown

    run_dir = make_dataset_run(tmp_path)
    monkeypatch.setattr(crops_module, "_manifest_codec", lambda label, described, options: STAND_IN)
    crops_for_run(run_dir, crop=96)                            # 0.5 bpp
    report = build_report(find_runs([run_dir]), out_dir=tmp_path / "r2", visual_bpp=1.0, plots=False)
    assert report.visuals[0].path is None
    assert (f"it holds crops at 0.5 bpp, not at 1 bpp; make them with `elicbench visual {run_dir} --target-bpp 1`"
            in report.markdown)
    assert main(["visual", str(run_dir), "--target-bpp", "1", "--crop", "96"]) == 0
    for target in (0.5, 1.0):                                  # the new set is added, the other kept
        v = build_report(find_runs([run_dir]), out_dir=tmp_path / "r3", visual_bpp=target, plots=False).visuals[0]
        assert v.path is not None and v.tiles[1].pixels.shape == (96, 96, 3)


def test_crops_that_fail_never_cost_the_run_its_summary(tmp_path, monkeypatch):
    from elicbench import runner
    from elicbench.runner import RunConfig, run_benchmark

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(runner, "store_crops", broken)
    with pytest.warns(RuntimeWarning, match="crops of the visual comparison not stored .*disk full"):
        outcome = run_benchmark(RunConfig(dataset=str(_photo_folder(tmp_path)), codecs=["jpeg"], jobs=1,
                                          qualities={"jpeg": [50]}, progress=False, out=tmp_path / "run"))
    assert outcome.ok and (outcome.run_dir / "summary.csv").is_file()
    assert json.loads((outcome.run_dir / "manifest.json").read_text())["status"] == "ok"


def test_a_missing_crop_file_is_a_note(tmp_path, monkeypatch):
    run_dir = make_dataset_run(tmp_path)
    monkeypatch.setattr(crops_module, "_manifest_codec", lambda label, described, options: STAND_IN)
    stored = crops_for_run(run_dir, crop=96)
    (run_dir / "visual" / stored.sets[0].tiles[0].file).unlink()
    v = build_report(find_runs([run_dir]), out_dir=tmp_path / "r", plots=False).visuals[0]
    assert [t.label for t in v.tiles] == ["original", "webp"] and v.path is not None
    assert any(n.startswith("run run: jpeg not shown") for n in v.notes), v.notes
