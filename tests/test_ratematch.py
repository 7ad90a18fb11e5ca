"""Rate matching hits the target within the codec's quality step."""
from __future__ import annotations

import pytest

from elicbench.codecs import get_codec
from elicbench.metrics import bits_per_pixel
from elicbench.ratematch import search_quality
from bench_data import BENCH_DATASET


@pytest.mark.parametrize("name", ["jpeg", "webp"])
@pytest.mark.parametrize("target", [0.5, 1.0])
def test_closest_quality_within_one_step(photo, name, target):
    codec = get_codec(name)()
    image = photo(3)[:256, :384]
    h, w = image.shape[:2]
    q, tried = search_quality(codec, image, target)
    bpp = lambda quality: bits_per_pixel(len(codec.encode(image, quality)), w, h)  # noqa: E731
    got = tried[q]
    # No neighbouring quality step is closer to the target than the chosen one.
    for nq in (q - 1, q + 1):
        if codec.quality_scale.low <= nq <= codec.quality_scale.high:
            assert abs(got - target) <= abs(bpp(nq) - target) + 1e-12
    # Bisection, not a scan of all 100 qualities.
    assert len(tried) <= 10


def test_unreachable_target_gives_the_nearest_end(photo):
    codec = get_codec("jpeg")()
    image = photo(3)[:256, :256]
    q, tried = search_quality(codec, image, 0.001)
    assert q == 1


def test_rate_matched_run_and_report(tmp_path):
    from elicbench.analysis.runs import load_run
    from elicbench.report import build_report
    from elicbench.results import load_results
    from elicbench.runner import RunConfig, run_benchmark

    outcome = run_benchmark(RunConfig(dataset=BENCH_DATASET, codecs=["jpeg", "webp"], limit=2, target_bpp=[0.5, 1.0],
                                      out=tmp_path / "run", progress=False, jobs=2))
    assert outcome.ok
    df = load_results(tmp_path / "run" / "results.csv")
    assert len(df) == 8 and set(df["target_bpp"]) == {0.5, 1.0}
    assert (abs(df["bpp"] - df["target_bpp"]) < 0.25 * df["target_bpp"]).all()
    assert df["note"].str.contains("rate-matched: quality").all()
    report = build_report([load_run(tmp_path / "run")], visual_bpp=None, plots=False)
    assert "## Quality at matched bpp" in report.markdown
    section = report.markdown.split("## Quality at matched bpp")[1]
    assert f"| {BENCH_DATASET} | webp | 0.5 | 2 |" in section and f"| {BENCH_DATASET} | jpeg | 1 | 2 |" in section
    assert "Quality at matched bpp" in report.html
