"""Image-quality and rate metrics, and their registry.

All take images on the 0..255 scale (uint8 RGB as the codecs produce them) and return floats.
Importing the package registers the built-in metrics (``catalog``: ``@register_metric``, the
``elicbench.metrics`` entry-point group, the axes RD curves are drawn in).
"""
from . import ciede2000, flip, psnrhvs, ssimulacra2  # noqa: F401  (register the metrics)
from .catalog import (DEFAULT_METRICS, DISPLAY_OF_MEAN, MEAN, POOLED_MSE, METRICS, Axis, Metric, axes, axes_of, check_metric_names, get_axis, get_metric,
                      measure, metric_names, register_metric)
from .common import MetricUndefined
from .msssim import ms_ssim, ms_ssim_db
from .mse import luma, mse_from_psnr, pooled_psnr, psnr, psnr_from_mse, psnr_y
from .rate import bits_per_pixel

__all__ = ["Axis", "DEFAULT_METRICS", "DISPLAY_OF_MEAN", "MEAN", "POOLED_MSE", "METRICS", "Metric", "MetricUndefined", "axes", "axes_of", "bits_per_pixel",
           "check_metric_names", "get_axis", "get_metric", "luma", "measure", "metric_names", "ms_ssim", "ms_ssim_db",
           "mse_from_psnr", "pooled_psnr", "psnr", "psnr_from_mse", "psnr_y", "register_metric"]
