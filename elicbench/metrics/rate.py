"""Bits per pixel of a stored file."""
from __future__ import annotations


def bits_per_pixel(num_bytes: int, width: int, height: int) -> float:
    """8 * bytes / (width * height): the whole file, headers included, over the image's pixels."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if num_bytes < 0:
        raise ValueError(f"byte count must not be negative, got {num_bytes}")
    return 8.0 * num_bytes / (width * height)
