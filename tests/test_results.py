"""The results table: written row by row, read back by the one reader everything uses."""
from __future__ import annotations

import math

import pytest

from elicbench.results import (RESULT_COLUMNS, ResultsFileError, ResultsWriter, load_results, read_rows,
                               summarize)

ROW = dict(dataset="kodak", image="kodim01", width=768, height=512, codec="jpeg", quality=75, bytes=60000,
           bpp=1.2207, psnr=34.5, psnr_y=35.1, ms_ssim=0.987, ms_ssim_db=18.86, encode_s=0.01, decode_s=0.005,
           repeats=1, codec_settings="{}", target_bpp=None, converted="", note="", error="")


def _write(path, rows):
    with ResultsWriter(path) as w:
        for row in rows:
            w.write(row)
    return path


def test_round_trip_types(tmp_path):
    failed = {**ROW, "quality": 5, "bytes": None, "bpp": None, "psnr": None, "error": "CodecError: x"}
    lossless = {**ROW, "quality": 100, "psnr": math.inf, "image": "007"}
    df = load_results(_write(tmp_path / "results.csv", [ROW, failed, lossless]))
    assert list(df.columns) == RESULT_COLUMNS
    assert df["image"].tolist() == ["kodim01", "kodim01", "007"]  # text stays text (no 7)
    assert df["quality"].tolist() == [75.0, 5.0, 100.0]
    assert df["error"].tolist() == ["", "CodecError: x", ""]
    assert df["bpp"].isna().tolist() == [False, True, False]
    assert df["psnr"].iloc[2] == math.inf
    assert df["target_bpp"].isna().all()
    summary = summarize(df)
    assert summary.set_index("quality").loc[5.0, "n_failed"] == 1


def test_a_torn_last_line_is_dropped_by_both_readers(tmp_path):
    path = _write(tmp_path / "results.csv", [ROW, {**ROW, "quality": 50}])
    text = path.read_text()
    path.write_text(text + text.splitlines()[1][:25])  # a kill in the middle of a row
    assert len(read_rows(path)) == 2
    assert load_results(path)["quality"].tolist() == [75.0, 50.0]


def test_files_that_are_not_results_tables(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ResultsFileError, match="missing column"):
        load_results(other)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ResultsFileError, match="cannot read"):
        load_results(empty)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00image")
    with pytest.raises(ResultsFileError):
        load_results(binary)


def test_extra_metric_columns_are_written_read_and_summarised(tmp_path):
    from elicbench.results import rd_points, result_columns

    columns = result_columns(["psnr", "ms_ssim", "ssimulacra2", "ciede2000"])
    assert columns[:columns.index("ms_ssim_db") + 1] == RESULT_COLUMNS[:RESULT_COLUMNS.index("ms_ssim_db") + 1]
    assert columns[columns.index("ms_ssim_db") + 1:][:2] == ["ciede2000", "ssimulacra2"] or \
        set(columns) - set(RESULT_COLUMNS) == {"ssimulacra2", "ciede2000"}
    rows = [{**ROW, "ssimulacra2": 60.0, "ciede2000": 2.0},
            {**ROW, "image": "kodim02", "psnr": math.inf, "ssimulacra2": 80.0, "ciede2000": 1.0}]
    path = tmp_path / "results.csv"
    with ResultsWriter(path, columns=columns) as w:
        for row in rows:
            w.write(row)
    df = load_results(path)
    assert set(df.columns) == set(columns) and df["ssimulacra2"].tolist() == [60.0, 80.0]
    summary = summarize(df)
    assert summary.loc[0, "ssimulacra2"] == 70.0 and summary.loc[0, "ciede2000"] == 1.5
    assert summary.loc[0, "psnr"] == 34.5 and summary.loc[0, "n_psnr_inf"] == 1   # the lossless rule holds
    points = rd_points(df, ["codec"], ["psnr_pooled", "ms_ssim_db", "ssimulacra2"])
    assert points.loc["jpeg", "n_images"] == 2 and points.loc["jpeg", "ssimulacra2"] == 70.0
    assert points.loc["jpeg", "ms_ssim_db"] == pytest.approx(-10 * math.log10(1 - 0.987))
    # pooled PSNR keeps the lossless image (MSE 0): 3 dB above the lossy one's 34.5 dB
    assert points.loc["jpeg", "psnr_pooled"] == pytest.approx(34.5 + 10 * math.log10(2))


def test_the_committed_baseline_summarises_to_its_summary_csv():
    from pathlib import Path

    baseline = Path(__file__).resolve().parents[1] / "reports" / "baseline"
    text = summarize(load_results(baseline / "results.csv")).to_csv(index=False)
    assert text == (baseline / "summary.csv").read_text()
