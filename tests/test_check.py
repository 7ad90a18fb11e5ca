"""The regression gate must pass on an unchanged tree and fail when a codec's output moves."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from elicbench.check import CheckError, Tolerances, check_baseline, compare
from elicbench.runner import RunConfig, run_benchmark
from bench_data import BENCH_DATASET, BENCH_IMAGES


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    out = tmp_path_factory.mktemp("baseline") / "run"
    outcome = run_benchmark(RunConfig(dataset=BENCH_DATASET, codecs=["jpeg", "webp"], limit=2, out=out,
                                      qualities={"jpeg": [20, 50, 75, 90], "webp": [20, 50, 75, 90]},
                                      progress=False))
    assert outcome.ok
    return out


def _check_cli(baseline, *extra, patch: str = ""):
    """`elicbench check` in a fresh interpreter, optionally after `patch` changed the code."""
    code = textwrap.dedent(f"""
        import sys, dataclasses
        import elicbench.codecs.jpeg as jpeg
        {patch}
        from elicbench.cli import main
        sys.exit(main(["check", "--baseline", {str(baseline)!r}, "--no-progress", *{list(extra)!r}]))
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_unchanged_tree_passes(baseline):
    res = _check_cli(baseline)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "PASS" in res.stdout


def test_changed_jpeg_default_fails_and_names_rows(baseline):
    patch = ('jpeg.Jpeg.options = {**jpeg.Jpeg.options, "subsampling": '
             'dataclasses.replace(jpeg.Jpeg.options["subsampling"], default="4:4:4")}')
    res = _check_cli(baseline, patch=patch)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "FAIL" in res.stdout
    assert "subsampling=4:2:0 -> " in res.stdout and "subsampling=4:4:4" in res.stdout
    # Every JPEG row is named: 4:4:4 makes larger files, a worse move, so the rows regressed; WebP rows
    # are untouched.
    diff = res.stdout.split("row(s) differ from the baseline")[1]
    for image in tuple(BENCH_IMAGES[:2]):
        row = next(line for line in diff.splitlines() if line.startswith(f"| {image} | jpeg | 50 |"))
        assert "| regressed | bytes +" in row and "%, larger)" in row
    assert "| webp |" not in diff
    assert "FAIL: results regressed against the baseline" in res.stdout


def test_update_accepts_the_new_results(baseline, tmp_path):
    import shutil

    copy = tmp_path / "baseline"
    shutil.copytree(baseline, copy)
    # Tamper with the stored baseline: one file size is off by a byte.
    rows = (copy / "results.csv").read_text().splitlines()
    header = rows[0].split(",")
    cells = rows[1].split(",")
    cells[header.index("bytes")] = str(int(cells[header.index("bytes")]) + 1)
    rows[1] = ",".join(cells)
    (copy / "results.csv").write_text("\n".join(rows) + "\n")
    first = check_baseline(copy, progress=False)
    # Today's file is one byte smaller than the (tampered) baseline's: a change for the better, which
    # fails the gate all the same (deterministic codec), but is not called a regression.
    assert not first.passed and len(first.rows) == 1 and first.regressions == []
    assert first.rows[0]["verdict"] == "changed"
    assert first.rows[0]["problem"].startswith("bytes -1 B (-0.") and first.rows[0]["problem"].endswith("smaller)")
    assert "0 regressed (a worse move), 1 changed (better moves only)" in first.text
    assert "FAIL: results changed against the baseline, all for the better" in first.text
    assert "regressed against" not in first.text
    updated = check_baseline(copy, update=True, progress=False)
    assert updated.passed
    assert check_baseline(copy, progress=False).passed


def test_tolerances_apply_to_non_deterministic_codecs():
    import pandas as pd

    base = pd.DataFrame([{"image": "a", "codec": "x", "quality": 1, "bytes": 1000, "psnr": 30.0,
                          "ms_ssim": 0.95, "error": ""}])
    new = base.assign(bytes=1005, psnr=30.005)
    tol = Tolerances()
    assert compare(base, new, {"x": False}, tol) == []           # 0.5 % < 1 %, 0.005 dB < 0.01 dB
    [row] = compare(base, new, {"x": True}, tol)                 # deterministic: any byte counts
    assert (row["problem"], row["verdict"]) == ("bytes +5 B (+0.5 %, larger)", "regressed")
    worse = base.assign(bytes=1000, psnr=29.95)
    [row] = compare(base, worse, {"x": True}, tol)
    assert (row["problem"], row["verdict"]) == ("PSNR -0.05 dB (worse)", "regressed")
    assert compare(base, base.assign(bytes=1020), {"x": False}, tol)[0]["problem"] == "bytes +20 B (+2 %, larger)"


def test_moves_say_which_way_and_only_worse_ones_are_regressions():
    import pandas as pd

    base = pd.DataFrame([{"image": "a", "codec": "x", "quality": 1, "bytes": 1000, "psnr": 30.0,
                          "ms_ssim": 0.95, "error": ""}])
    tol = Tolerances()
    smaller = compare(base, base.assign(bytes=969), {"x": True}, tol)
    assert [(r["problem"], r["verdict"]) for r in smaller] == [("bytes -31 B (-3.1 %, smaller)", "changed")]
    better = compare(base, base.assign(psnr=30.2, ms_ssim=0.96), {"x": False}, tol)
    assert [(r["problem"], r["verdict"]) for r in better] == [
        ("PSNR +0.2 dB (better); MS-SSIM +0.01 (better)", "changed")]
    # Smaller but worse: one worse move makes the row a regression.
    mixed = compare(base, base.assign(bytes=900, psnr=29.0), {"x": True}, tol)
    assert [(r["problem"], r["verdict"]) for r in mixed] == [
        ("bytes -100 B (-10 %, smaller); PSNR -1 dB (worse)", "regressed")]
    # Regressions are listed first.
    two = pd.concat([base, base.assign(image="b")], ignore_index=True)
    rows = compare(two, two.assign(bytes=[990, 1010]), {"x": True}, tol)
    assert [(r["image"], r["verdict"]) for r in rows] == [("b", "regressed"), ("a", "changed")]


def test_other_measured_metrics_are_compared_each_in_its_own_direction():
    import pandas as pd

    base = pd.DataFrame([{"image": "a", "codec": "x", "quality": 1, "bytes": 1000, "psnr": 30.0, "ms_ssim": 0.95,
                          "ssimulacra2": 60.0, "ciede2000": 2.0, "error": ""}])
    tol = Tolerances()
    assert compare(base, base.assign(ssimulacra2=60.0005, ciede2000=2.00005), {"x": True}, tol) == []
    [row] = compare(base, base.assign(ciede2000=2.5), {"x": True}, tol)        # lower is better: up is worse
    assert (row["problem"], row["verdict"]) == ("CIEDE2000 ΔE +0.5 (worse)", "regressed")
    [row] = compare(base, base.assign(ciede2000=1.5, ssimulacra2=61.0), {"x": True}, tol)
    assert (row["problem"], row["verdict"]) == ("CIEDE2000 ΔE -0.5 (better); SSIMULACRA2 +1 (better)", "changed")
    [row] = compare(base, base.assign(ssimulacra2=float("nan")), {"x": True}, tol)
    assert row["problem"] == "SSIMULACRA2 missing (was 60)" and row["verdict"] == "regressed"


def test_a_curve_that_needs_fewer_bits_is_a_change_not_a_regression():
    import pandas as pd

    from elicbench.check import curve_changes

    qualities = [20, 40, 60, 80]
    base = pd.DataFrame([{"image": "a", "codec": "x", "quality": q, "bytes": 1000 * (i + 1), "bpp": 0.25 * (i + 1),
                          "psnr": 28.0 + 2 * i, "ms_ssim": 0.9, "error": ""} for i, q in enumerate(qualities)])
    tol = Tolerances()
    [same] = curve_changes(base, base, tol)
    assert (same["status"], same["failed"]) == ("ok", False)
    [smaller] = curve_changes(base, base.assign(bpp=base["bpp"] * 0.95), tol)
    assert smaller["bd_rate_pct"] < -4 and (smaller["status"], smaller["failed"]) == ("changed (better)", True)
    [larger] = curve_changes(base, base.assign(bpp=base["bpp"] * 1.05), tol)
    assert larger["bd_rate_pct"] > 4 and (larger["status"], larger["failed"]) == ("regressed", True)


def test_not_a_run_directory(tmp_path):
    with pytest.raises(CheckError, match="manifest.json is missing|results.csv is missing"):
        check_baseline(tmp_path, progress=False)


def test_perturbed_elic_weight_fails(tmp_path):
    """One ELIC weight nudged (and the model re-identified, as a re-export would) fails the gate."""
    import shutil

    import numpy as np

    from elicbench.codecs.elic.config import ELICConfig
    from elicbench.codecs.elic.export import model_id

    src = __import__("elicbench").__path__[0] + "/data/elic-demo"
    models = tmp_path / "models"
    shutil.copytree(src, models)
    mdir = sorted(d for d in models.iterdir() if (d / "elic.json").is_file())[0]  # one demo model
    info = json.loads((mdir / "elic.json").read_text())
    lam = info["lambda"]
    base_dir = tmp_path / "baseline"
    outcome = run_benchmark(RunConfig(dataset=BENCH_DATASET, codecs=["elic"], qualities={"elic": [lam]}, limit=1,
                                      out=base_dir, options={"elic": {"models": str(models)}}, progress=False))
    assert outcome.ok, outcome.failures
    assert check_baseline(base_dir, options={"elic": {"models": str(models)}}, progress=False).passed

    with np.load(mdir / "weights.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    w = arrays["w0000"].astype(np.float32)
    w.flat[0] += 0.05
    arrays["w0000"] = w.astype(arrays["w0000"].dtype)
    np.savez(mdir / "weights.npz", **arrays)
    count = int(info["weights"]["count"])
    weights = [arrays[f"w{i:04d}"].astype(np.float32) for i in range(count)]
    tables = {k: arrays[k] for k in ("z_cdf", "z_cdf_offset")}
    info["model_id"] = model_id(ELICConfig.from_dict(info["config"]), weights, tables).hex()
    (mdir / "elic.json").write_text(json.dumps(info))

    result = check_baseline(base_dir, options={"elic": {"models": str(models)}}, progress=False)
    assert not result.passed
    assert any(r["codec"] == "elic" and r["quality"] == lam for r in result.rows)
    assert f"| {BENCH_IMAGES[0]} | elic | {lam:g} |" in result.text
    # The likely cause is named first: the rate point's model changed.
    old_id = json.loads(Path(src, mdir.name, "elic.json").read_text())["model_id"]
    assert f"elic: rate point {lam:g}: model_id {old_id} -> {info['model_id']}" in result.text


def test_models_that_are_gone_are_named_with_what_to_do(tmp_path):
    """New models at other λ (new demo weights): the check cannot replay the baseline and says why."""
    import shutil

    src = __import__("elicbench").__path__[0] + "/data/elic-demo"
    models = tmp_path / "models"
    shutil.copytree(src, models)
    dirs = sorted(d for d in models.iterdir() if (d / "elic.json").is_file())
    lam = json.loads((dirs[0] / "elic.json").read_text())["lambda"]
    base_dir = tmp_path / "baseline"
    outcome = run_benchmark(RunConfig(dataset=BENCH_DATASET, codecs=["elic"], qualities={"elic": [lam]}, limit=1,
                                      out=base_dir, options={"elic": {"models": str(models)}}, progress=False))
    assert outcome.ok, outcome.failures
    shutil.rmtree(dirs[0])                           # that rate point's model is gone
    with pytest.raises(CheckError) as err:
        check_baseline(base_dir, options={"elic": {"models": str(models)}}, progress=False)
    text = str(err.value)
    assert "the baseline ran rate points this codec no longer has" in text
    assert f"Recorded: {lam:g} (" in text and "record a new baseline" in text


def test_rows_that_failed_in_the_baseline_and_fail_again_are_not_regressions(tmp_path):
    import fake_codecs  # noqa: F401  (registers test-fail: quality 13 fails)

    out = tmp_path / "base"
    outcome = run_benchmark(RunConfig(dataset=BENCH_DATASET, codecs=["test-fail"], qualities={"test-fail": [12, 13]},
                                      limit=1, out=out, jobs=1, progress=False))
    assert len(outcome.failures) == 1
    result = check_baseline(out, jobs=1, progress=False)
    assert result.passed, result.text
    assert result.regressions == [] and [r["quality"] for r in result.still_failing] == [13]
    assert "1 row(s) failed in the baseline and fail again (not regressions)" in result.text
    assert "refusing quality 13" in result.text


def test_failed_in_baseline_splits_still_failing_and_fixed():
    import pandas as pd

    from elicbench.check import failed_in_baseline

    base = pd.DataFrame([{"image": "a", "codec": "x", "quality": q, "bytes": 1000.0, "psnr": 30.0,
                          "ms_ssim": 0.95, "error": e} for q, e in ((1, "boom"), (2, "boom"), (3, ""))])
    new = base.assign(error=["boom again", "", ""])
    assert compare(base, new, {"x": True}, Tolerances()) == []
    still, fixed = failed_in_baseline(base, new)
    assert [(r["quality"], r["error_new"]) for r in still] == [(1, "boom again")]
    assert [r["quality"] for r in fixed] == [2]
    # A row that newly fails is still a regression.
    worse = compare(base, base.assign(error=["boom", "boom", "new failure"]), {"x": True}, Tolerances())
    assert [(r["quality"], r["verdict"]) for r in worse] == [(3, "regressed")]


def test_a_baseline_without_image_hashes_is_checked_with_a_warning(baseline, tmp_path):
    import shutil

    copy = tmp_path / "baseline"
    shutil.copytree(baseline, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    for im in manifest["dataset"]["images"]:
        del im["sha256"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = check_baseline(copy, jobs=1, progress=False)
    assert result.passed
    assert result.unverified_images == BENCH_IMAGES[:2]
    assert result.text.startswith("WARNING: 2 image(s) NOT VERIFIED")
    assert "PASS: no change against the baseline. WARNING: 2 image(s) NOT VERIFIED" in result.text


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"a string"', '{"dataset": 3, "codecs": {}}',
                                  '{"dataset": {"name": "kodak", "images": []}, "codecs": {"jpeg": 1}}'])
def test_a_corrupt_baseline_manifest_is_a_one_line_usage_error(baseline, tmp_path, capsys, text):
    import shutil

    from elicbench.cli import main

    copy = tmp_path / "baseline"
    shutil.copytree(baseline, copy)
    (copy / "manifest.json").write_text(text)
    assert main(["check", "--baseline", str(copy), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("elicbench check: error:") and "manifest.json" in err[0], err


def test_resume_with_a_corrupt_manifest_is_a_one_line_usage_error(baseline, tmp_path, capsys):
    import shutil

    from elicbench.cli import main

    copy = tmp_path / "run"
    shutil.copytree(baseline, copy)
    (copy / "manifest.json").write_text("[]")
    rc = main(["run", "--dataset", BENCH_DATASET, "--codecs", "jpeg", "--qualities", "jpeg=20", "--limit", "1",
               "--out", str(copy), "--resume", "--no-progress", "--jobs", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "manifest.json" in err[0] and "JSON object" in err[0], err
