"""Image-quality and rate metrics: PSNR (RGB and luma), MS-SSIM, bits per pixel.

All take images on the 0..255 scale (uint8 RGB as the codecs produce them) and return floats.
"""
from .common import MetricUndefined
from .msssim import ms_ssim, ms_ssim_db
from .mse import luma, mse_from_psnr, pooled_psnr, psnr, psnr_from_mse, psnr_y
from .rate import bits_per_pixel

__all__ = ["MetricUndefined", "bits_per_pixel", "luma", "ms_ssim", "ms_ssim_db", "mse_from_psnr", "pooled_psnr",
           "psnr", "psnr_from_mse", "psnr_y"]
