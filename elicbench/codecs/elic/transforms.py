"""Analysis/synthesis transforms g_a, g_s and the hyperprior h_a, h_s (the paper's
main transforms with residual bottlenecks and attention, and the hyperprior; docs/elic-design.md §1-2).

Each builder returns a ``tf.keras.Sequential``. All convolutions use Keras ``same`` padding; the
hyperprior uses plain Keras convolutions where the reference uses TFC ``SignalConv2D`` (same
shapes and parameter count; the reference's RDFT kernel parameterisation only changes training
dynamics, not the function class).
"""
from __future__ import annotations

from elicbench.codecs.elic.config import ELICConfig
from elicbench.codecs.elic.layers import ResidualBottleneck, SimpleAttention
from elicbench.tfenv import import_tf

tf = import_tf()
keras = tf.keras


def down(c: int, name: str):
    return keras.layers.Conv2D(c, 5, strides=2, padding="same", name=name)


def up(c: int, name: str):
    return keras.layers.Conv2DTranspose(c, 5, strides=2, padding="same", name=name)


def rbs(c: int, n: int, prefix: str) -> list:
    return [ResidualBottleneck(c, name=f"{prefix}_rb{i}") for i in range(n)]


def analysis_transform(cfg: ELICConfig):
    """x in 0..255 -> y (H/16, W/16, M)."""
    n, k = cfg.N, cfg.num_rbs
    return keras.Sequential(
        [keras.layers.Rescaling(1.0 / 255.0, name="to_unit")]
        + [down(n, "down0")] + rbs(n, k, "s1")
        + [down(n, "down1")] + rbs(n, k, "s2") + [SimpleAttention(n, k, name="attn1")]
        + [down(n, "down2")] + rbs(n, k, "s3")
        + [down(cfg.M, "down3"), SimpleAttention(cfg.M, k, name="attn2")],
        name="g_a",
    )


def synthesis_transform(cfg: ELICConfig):
    """ŷ -> x̂ on the 0..255 scale (unclipped)."""
    n, k = cfg.N, cfg.num_rbs
    return keras.Sequential(
        [SimpleAttention(cfg.M, k, name="attn0"), up(n, "up0")] + rbs(n, k, "s1")
        + [up(n, "up1"), SimpleAttention(n, k, name="attn1")] + rbs(n, k, "s2")
        + [up(n, "up2")] + rbs(n, k, "s3")
        + [up(3, "up3"), keras.layers.Rescaling(255.0, name="to_pixels")],
        name="g_s",
    )


def hyper_analysis_transform(cfg: ELICConfig):
    """y -> z (H/64, W/64, hyper_channels)."""
    w0, w1 = cfg.h_a_widths
    return keras.Sequential(
        [
            keras.layers.Conv2D(w0, 3, padding="same", activation="relu", name="conv0"),
            keras.layers.Conv2D(w1, 5, strides=2, padding="same", activation="relu", name="down0"),
            keras.layers.Conv2D(cfg.hyper_channels, 5, strides=2, padding="same", use_bias=False, name="down1"),
        ],
        name="h_a",
    )


def hyper_synthesis_transform(cfg: ELICConfig):
    """ẑ -> Ψ (H/16, W/16, hyper_out), shared by all groups' parameter aggregation."""
    w0, w1 = cfg.h_s_widths
    return keras.Sequential(
        [
            keras.layers.Conv2DTranspose(w0, 5, strides=2, padding="same", activation="relu", name="up0"),
            keras.layers.Conv2DTranspose(w1, 5, strides=2, padding="same", activation="relu", name="up1"),
            keras.layers.Conv2DTranspose(cfg.hyper_out, 3, padding="same",
                                         activation="relu" if cfg.hyper_out_relu else None, name="out"),
        ],
        name="h_s",
    )
