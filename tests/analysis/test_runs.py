import json

import pytest

from elicbench.analysis.runs import RunDirError, combined_results, find_runs, load_run
from elicbench.results import RESULT_COLUMNS

ROW = {"dataset": "d", "image": "kodim01", "width": 768, "height": 512, "codec": "jpeg", "quality": 75,
       "bytes": 40000, "bpp": 0.8138, "psnr": 31.5, "ms_ssim": 0.97, "encode_s": 0.01, "decode_s": 0.005}


def write(run_dir, rows=(ROW,), manifest=None):
    run_dir.mkdir(parents=True)
    lines = [",".join(RESULT_COLUMNS)]
    for r in rows:
        lines.append(",".join(str(r.get(c, "")) for c in RESULT_COLUMNS))
    (run_dir / "results.csv").write_text("\n".join(lines) + "\n")
    if manifest is not None:
        (run_dir / "manifest.json").write_text(json.dumps(manifest))
    return run_dir


def test_load_run_types(tmp_path):
    failed = {**ROW, "quality": 90, "bytes": "", "bpp": "", "psnr": "", "ms_ssim": "", "error": "CodecError: x"}
    lossless = {**ROW, "quality": 100, "psnr": "inf"}
    run = load_run(write(tmp_path / "r", [ROW, failed, lossless], {"command": ["elicbench", "run"]}))
    df = run.results
    assert df["bpp"].dtype == float and df["quality"].dtype == float
    assert df["error"].tolist() == ["", "CodecError: x", ""]
    assert df["bpp"].isna().tolist() == [False, True, False]
    assert df["psnr"].iloc[2] == float("inf")
    assert df["image"].tolist() == ["kodim01"] * 3  # text stays text
    assert run.manifest == {"command": ["elicbench", "run"]} and run.codecs == ["jpeg"]


def test_load_run_without_manifest_and_errors(tmp_path):
    assert load_run(write(tmp_path / "r")).manifest == {}
    with pytest.raises(RunDirError, match="no results.csv"):
        load_run(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "results.csv").write_text("a,b\n1,2\n")
    with pytest.raises(RunDirError, match="missing column"):
        load_run(bad)


def test_find_runs_recursive_skips_other_dirs(tmp_path):
    write(tmp_path / "all" / "kodak-1")
    write(tmp_path / "all" / "nested" / "clic-1")
    (tmp_path / "all" / "plots").mkdir()
    runs = find_runs([tmp_path / "all", tmp_path / "all" / "kodak-1"])
    assert [r.name for r in runs] == ["kodak-1", "clic-1"]  # each once
    assert [r.name for r in find_runs([tmp_path / "all" / "kodak-1" / "results.csv"])] == ["kodak-1"]
    with pytest.raises(RunDirError, match="no run directory"):
        find_runs([tmp_path / "all" / "plots"])
    with pytest.raises(RunDirError, match="no such"):
        find_runs([tmp_path / "missing"])


def test_combined_results_keeps_clashing_labels_apart(tmp_path):
    a = load_run(write(tmp_path / "run-a"))
    b = load_run(write(tmp_path / "run-b", [ROW, {**ROW, "codec": "webp"}]))
    df = combined_results([a, b])
    assert sorted(df["codec"].unique()) == ["jpeg (run-a)", "jpeg (run-b)", "webp"]
    assert set(df["codec_label"]) == {"jpeg", "webp"}
    assert set(df["run"]) == {str(a.path), str(b.path)}
