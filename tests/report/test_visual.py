import hashlib
import io
import json

import numpy as np
import pytest
from PIL import Image

from conftest import CODECS, write_run
from elicbench.analysis.runs import find_runs, load_run
from elicbench.report import build_report
from elicbench.report import visual as visual_module
from elicbench.report.visual import COLUMNS, TILE_GAP, TILE_LABEL_HEIGHT, detailed_crop, visual_comparison


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


def test_grid_of_crops_with_a_stand_in_codec(tmp_path, monkeypatch):
    run = load_run(make_dataset_run(tmp_path, sha_ok=False))
    monkeypatch.setattr(visual_module, "_make_codec", lambda label, row, manifests: PillowJPEG())
    out = tmp_path / "grid.png"
    v = visual_comparison(run.results, "synthetic", run.manifest["codecs"], out, target_bpp=1.0, crop=128,
                          dataset_manifest=run.manifest)
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
    report = build_report(find_runs([run_dir]), visual_bpp=0.5, plots=False)
    v = report.visuals[0]
    assert v.path is not None and v.path in report.files, v.notes
    assert [t.label for t in v.tiles] == ["original", "jpeg", "webp"]
    assert all(t.pixels.shape == (256, 256, 3) for t in v.tiles)
    assert 0.05 < v.tiles[1].bpp < 8 and 20 < v.tiles[1].psnr < 60
    assert "data:image/png;base64," in report.html and "Visual comparison" in report.html
