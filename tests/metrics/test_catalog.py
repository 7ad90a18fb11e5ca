"""The metric registry: names, defaults, axes, plug-ins, undefined values and bad names."""
from __future__ import annotations

import elicbench

import math

import numpy as np
import pytest

from elicbench import metrics
from elicbench.metrics import (DEFAULT_METRICS, METRICS, Metric, MetricUndefined, get_axis, get_metric, measure,
                               register_metric)
from elicbench.metrics.catalog import UnknownMetricError, register_metric_function
from elicbench.registry import UnknownNameError


def test_builtin_metrics_and_defaults():
    assert set(metrics.metric_names()) >= {"psnr", "psnr_y", "ms_ssim", "ssimulacra2", "psnr_hvs", "psnr_hvs_m",
                                          "ciede2000", "flip"}
    assert DEFAULT_METRICS == ("psnr", "psnr_y", "ms_ssim")   # today's columns
    assert get_metric("ciede2000").higher_is_better is False and get_metric("flip").higher_is_better is False
    assert get_metric("ms_ssim").display_axis() == "ms_ssim_db"
    assert get_metric("ms_ssim").min_side == 161
    assert get_metric("flip").version() == metrics.catalog.metadata.version("flip-evaluator")
    assert get_metric("ciede2000").version() == elicbench.__version__  # its own implementation


def test_axes_aggregate_as_the_rules_say():
    values = np.array([30.0, 40.0, math.inf])
    assert get_axis("psnr").point_value(values) == 35.0            # mean of the finite values
    # pooled: MSE of 30 dB and 40 dB and 0 (lossless), averaged, back to dB
    mse = (255 ** 2 / 10 ** 3 + 255 ** 2 / 10 ** 4 + 0) / 3
    assert get_axis("psnr_pooled").point_value(values) == pytest.approx(10 * math.log10(255 ** 2 / mse))
    # MS-SSIM dB is the dB of the mean, not the mean of the dBs
    assert get_axis("ms_ssim_db").point_value(np.array([0.9, 0.99])) == pytest.approx(-10 * math.log10(1 - 0.945))
    assert get_axis("ms_ssim_db").label == "MS-SSIM [dB]" and get_axis("ms_ssim_db").column == "ms_ssim"
    assert get_axis("ciede2000").higher_is_better is False


def test_unknown_names_list_the_known_ones():
    with pytest.raises(UnknownNameError, match="Known: .*ciede2000.*ssimulacra2"):
        get_metric("ssimulacra3")
    with pytest.raises(UnknownMetricError, match="Did you mean 'ms_ssim_db'"):
        get_axis("ms_ssim_bd")
    with pytest.raises(UnknownNameError):
        metrics.check_metric_names(["psnr", "nope"])


def test_a_small_image_is_undefined_for_that_metric_only():
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (100, 120, 3), dtype=np.uint8)
    dist = np.clip(ref.astype(int) + rng.integers(-3, 4, ref.shape), 0, 255).astype(np.uint8)
    values, notes = measure(ref, dist, ["psnr", "ms_ssim", "psnr_hvs_m"])
    assert math.isfinite(values["psnr"]) and math.isfinite(values["psnr_hvs_m"])
    assert math.isnan(values["ms_ssim"]) and math.isnan(values["ms_ssim_db"])
    assert notes == ["ms_ssim: MS-SSIM needs at least 161x161 pixels (5 scales, 11-px window); image is 120x100"]
    with pytest.raises(MetricUndefined, match="needs at least 8x8"):
        get_metric("ssimulacra2")()(ref[:7], dist[:7])


def test_register_a_metric_and_load_one_from_an_entry_point(monkeypatch):
    @register_metric("test-mean-abs")
    class MeanAbs(Metric):
        label = "mean |error|"
        higher_is_better = False

        def compute(self, ref, dist):
            return float(np.mean(np.abs(ref.astype(float) - dist)))

    try:
        assert MeanAbs.name == "test-mean-abs"
        values, _ = measure(np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 2, np.uint8), ["test-mean-abs"])
        assert values == {"test-mean-abs": 2.0}
        assert get_axis("test-mean-abs").higher_is_better is False
    finally:
        METRICS._items.pop("test-mean-abs")

    class EntryPoint:   # what importlib.metadata.entry_points gives for a third-party package
        name, value = "test-plugin", "pkg.mod:Broken"

        def load(self):
            raise ImportError("no module named pkg")

    monkeypatch.setattr(metrics.catalog.METRICS, "_plugins_loaded", False)
    monkeypatch.setattr("elicbench.registry.metadata.entry_points",
                        lambda group: [EntryPoint()] if group == "elicbench.metrics" else [])
    assert "test-plugin" not in metrics.metric_names()   # a broken plug-in never breaks the built-ins
    assert "no module named pkg" in METRICS.plugin_errors["test-plugin"]
    METRICS.plugin_errors.pop("test-plugin")


def test_register_a_function_as_a_metric():
    def pooled(values, pixels=None):
        return 0.0

    def test_max_error(ref, dist):
        """Largest absolute difference."""
        return float(np.max(np.abs(ref.astype(float) - dist)))

    try:
        assert register_metric_function("test-max-error", label="max |error|", higher_is_better=False,
                                         pooled=pooled)(test_max_error) is test_max_error
        cls = get_metric("test-max-error")
        assert issubclass(cls, Metric) and cls.__name__ == "TestMaxError" and cls.name == "test-max-error"
        assert cls.label == "max |error|" and cls.higher_is_better is False and cls.unit == ""
        assert cls.pooled is pooled   # a function attribute stays a plain function, not a method
        values, _ = measure(np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 3, np.uint8), ["test-max-error"])
        assert values == {"test-max-error": 3.0}
    finally:
        METRICS._items.pop("test-max-error", None)
    with pytest.raises(TypeError, match="unknown Metric attribute"):
        register_metric_function("test-typo", lable="typo")
    assert "test-typo" not in METRICS
