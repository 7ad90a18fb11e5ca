"""Bad input gives one clear message and the documented exit code; nothing else is lost."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
from PIL import Image

from elicbench.cli import main
from elicbench.results import load_results


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_unknown_codec_is_usage_error(capsys, tmp_path):
    code, _, err = _run(capsys, "run", "--dataset", "kodak", "--codecs", "jpg", "--out", str(tmp_path / "r"))
    assert code == 2
    assert "unknown codec 'jpg'" in err and "Did you mean 'jpeg'" in err
    assert not (tmp_path / "r").exists()


def test_quality_out_of_range_is_usage_error(capsys, tmp_path):
    code, _, err = _run(capsys, "run", "--dataset", "kodak", "--codecs", "jpeg", "--qualities", "jpeg=50,101",
                        "--out", str(tmp_path / "r"))
    assert code == 2 and "quality 101 is out of range [1, 100]" in err


def test_bad_option_is_usage_error(capsys, tmp_path):
    code, _, err = _run(capsys, "run", "--dataset", "kodak", "--codecs", "jpeg", "-o", "jpeg.subsampling=4:1:1",
                        "--out", str(tmp_path / "r"))
    assert code == 2 and "subsampling" in err and "4:4:4" in err


def test_empty_directory_is_usage_error(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = _run(capsys, "run", "--dataset", str(tmp_path / "empty"), "--codecs", "jpeg",
                        "--out", str(tmp_path / "r"))
    assert code == 2 and ("empty" in err.lower() or "no images" in err.lower())


def test_awkward_images_are_rows_not_crashes(capsys, tmp_path, photo):
    d = tmp_path / "imgs"
    d.mkdir()
    k = photo(5)
    Image.fromarray(k[:100, :100]).save(d / "a_small.png")                      # under 161 px: MS-SSIM NaN
    rgba = np.dstack([k[:200, :240], np.full((200, 240), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(d / "b_rgba.png")
    Image.fromarray((k[:200, :240, 0].astype(np.uint16) * 257)).save(d / "c_gray16.png")
    (d / "d_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 100)
    code, out, _ = _run(capsys, "run", "--dataset", str(d), "--codecs", "jpeg", "--qualities", "jpeg=50",
                        "--out", str(tmp_path / "r"), "--no-progress", "--jobs", "1")
    assert code == 1                        # one job failed: reported, the others ran
    assert "d_corrupt" in out and "cannot read image" in out
    df = load_results(tmp_path / "r" / "results.csv").set_index("image")
    assert len(df) == 4
    assert np.isnan(df.loc["a_small", "ms_ssim"]) and "161" in df.loc["a_small", "note"]
    assert df.loc["a_small", "psnr"] > 20
    assert "alpha dropped" in df.loc["b_rgba", "converted"]
    assert "16bit->8bit" in df.loc["c_gray16", "converted"]
    assert df.loc["d_corrupt", "error"] and df.loc["d_corrupt", "error"].count("d_corrupt.png") >= 1


def test_list_is_fast_and_does_not_import_tensorflow():
    code = ("import sys, elicbench.cli as c; c.main(['list']); "
            "assert 'tensorflow' not in sys.modules, 'list imported TensorFlow'; "
            "assert 'numba' not in sys.modules, 'list imported numba'")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "jpeg" in res.stdout and "kodak" in res.stdout


def test_help_explains_every_run_option():
    res = subprocess.run([sys.executable, "-m", "elicbench.cli", "run", "--help"], capture_output=True, text=True)
    for opt in ("--qualities", "--option", "--limit", "--out", "--jobs", "--resume", "--repeats",
                "--target-bpp", "--scheduler", "--elic-models"):
        assert opt in res.stdout


def test_unknown_metric_is_usage_error_naming_the_known_ones(capsys, tmp_path):
    code, _, err = _run(capsys, "run", "--dataset", "kodak", "--codecs", "jpeg", "--metrics", "psnr,ssimulacra",
                        "--out", str(tmp_path / "r"))
    assert code == 2
    assert "unknown metric 'ssimulacra'" in err and "ssimulacra2" in err and "ciede2000" in err
    assert not (tmp_path / "r").exists()


def test_list_shows_metrics_and_the_jpegli_codec(capsys):
    code, out, _ = _run(capsys, "list")
    assert code == 0
    metrics = out[out.index("Metrics"):out.index("Datasets:")]
    for name in ("psnr*", "ms_ssim*", "ssimulacra2", "psnr_hvs_m", "ciede2000", "flip"):
        assert name in metrics
    assert "lower" in metrics and "ms_ssim_db" in metrics and "flip-evaluator" in metrics
    assert "jpegli" in out[:out.index("Metrics")]
