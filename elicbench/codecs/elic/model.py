"""The ELIC model: transforms + hyperprior + SCCTX, with the training forward and real range coding.

He, Yang, Peng, Ma, Qin, Wang: "ELIC: Efficient Learned Image Compression with Unevenly Grouped
Space-Channel Contextual Adaptive Coding", CVPR 2022 (arXiv:2203.10886); as implemented here and
where it follows the TF2 reference: docs/elic-design.md.

    y = g_a(x),  z = h_a(y),  Ψ = h_s(ẑ)
    per channel group k and checkerboard half: (μ, σ) = EP(g_ch(ŷ^(<k)), g_sp(ŷ_anchors^(k)), Ψ)
    x̂ = g_s(ŷ)

``build_model(config)`` creates a built ``ELICModel`` (variables exist, so checkpoints restore).

Training forward (``model(x, training=True)``, x float32 [B, H, W, 3] in 0..255, H and W multiples
of 64) returns a dict: ``x_hat`` (0..255, unclipped), ``bits`` / ``bits_y`` / ``bits_z`` per image,
``bpp`` (batch mean of bits / (H·W)) and ``mse`` (0..255 scale). The rate of z uses additive noise,
h_s sees STE-rounded z; y uses mixed quantisation with the two-pass checkerboard mimic.
``training=False`` rounds for real and takes discrete likelihoods with the floored scale index
the range coder uses, i.e. a close estimate of the coded size.

Coding: ``prepare_for_coding()`` builds ``model.coder`` (``coding.ELICCoder``: range coders, the
exact parameter path, whole-image and tiled paths), then ``compress(uint8 HW3)`` returns
``[x_shape int32[2], z_string, anchor strings (groups 0..G-1), non-anchor strings]`` (each string
``string[1]``) and ``decompress(x_shape, z_string, *strings)`` returns uint8 HW3. The image is
padded (edge replication) to a multiple of 64 inside and cropped back.

Imports TensorFlow: only the paths that code or train import this module.
"""
from __future__ import annotations

import tensorflow_compression as tfc

from elicbench.codecs.elic.checkerboard import round_st
from elicbench.codecs.elic.config import SIZE_MULTIPLE, ELICConfig
from elicbench.codecs.elic.entropy import SpaceChannelContext, scale_table
from elicbench.codecs.elic.transforms import (
    analysis_transform, hyper_analysis_transform, hyper_synthesis_transform, synthesis_transform,
)
from elicbench.tfenv import import_tf

tf = import_tf()
keras = tf.keras


class ELICModel(keras.Model):
    def __init__(self, config: ELICConfig, **kwargs):
        super().__init__(name="elic", **kwargs)
        self.config = config
        self.g_a = analysis_transform(config)
        self.g_s = synthesis_transform(config)
        self.h_a = hyper_analysis_transform(config)
        self.h_s = hyper_synthesis_transform(config)
        self.scctx = SpaceChannelContext(config, name="scctx")
        self.hyper_prior = tfc.NoisyDeepFactorized(batch_shape=[config.hyper_channels], name="hyper_prior")
        self.scale_fn = scale_table(config)
        # Rates are computed in float32 also under mixed precision (bit sums overflow float16).
        self.y_rate_model = tfc.LocationScaleIndexedEntropyModel(
            tfc.NoisyNormal, config.num_scales, self.scale_fn, coding_rank=3, compression=False,
            bottleneck_dtype=tf.float32)
        self.coder = None

    # --- training / validation -----------------------------------------------------------------
    def call(self, x, training=None):
        training = bool(training)
        y = self.g_a(x)
        z = tf.cast(self.h_a(y), tf.float32)
        z_rate_model = tfc.ContinuousBatchedEntropyModel(
            self.hyper_prior, coding_rank=3, compression=False, offset_heuristic=False,
            bottleneck_dtype=tf.float32)
        z_tilde, bits_z = z_rate_model(z, training=training)
        z_hat = round_st(z) if training else z_tilde
        psi = self.h_s(z_hat)
        y_hat, rate_terms = self.scctx(y, psi)
        bits_y = 0.0
        for y_part, mu, index in rate_terms:
            y_part, mu, index = (tf.cast(t, tf.float32) for t in (y_part, mu, index))
            if not training:  # the range coder uses the floored, clamped index
                index = tf.floor(tf.clip_by_value(index, 0.0, self.config.num_scales - 1.0))
            _, bits = self.y_rate_model(y_part, index, loc=mu, training=training)
            bits_y += bits
        # Outputs in float32 also under mixed_float16 (a float16 mean of squared 0..255 errors overflows).
        x_hat = tf.cast(self.g_s(y_hat), tf.float32)
        bits_y = tf.cast(bits_y, tf.float32)
        bits_z = tf.cast(bits_z, tf.float32)
        bits = bits_y + bits_z
        num_pixels = tf.cast(tf.shape(x)[1] * tf.shape(x)[2], tf.float32)
        return {
            "x_hat": x_hat,
            "bits": bits,
            "bits_y": bits_y,
            "bits_z": bits_z,
            "bpp": tf.reduce_mean(bits) / num_pixels,
            "mse": tf.reduce_mean(tf.math.squared_difference(tf.cast(x, tf.float32), x_hat)),
        }

    def model_weights(self) -> list:
        """The learned weights, in a fixed order (coding tables and derived copies excluded)."""
        weights = []
        for net in (self.g_a, self.h_a, self.h_s, self.scctx, self.g_s):
            weights += net.weights
        return weights + list(self.hyper_prior.variables)

    def set_model_weights(self, arrays) -> None:
        """Assign arrays in the order of ``model_weights()`` (shapes must match exactly)."""
        weights = self.model_weights()
        arrays = list(arrays)
        if len(arrays) != len(weights):
            raise ValueError(f"expected {len(weights)} weight arrays for ELIC preset "
                             f"{self.config.preset!r}, got {len(arrays)}")
        for i, (v, a) in enumerate(zip(weights, arrays)):
            if tuple(v.shape) != tuple(a.shape):
                raise ValueError(f"weight {i} ({v.name}) has shape {tuple(v.shape)}, got {tuple(a.shape)}")
        for v, a in zip(weights, arrays):
            v.assign(tf.cast(a, v.dtype))

    # --- coding ----------------------------------------------------------------------------------
    def prepare_for_coding(self, tables: dict | None = None) -> None:
        """Build ``self.coder`` (``coding.ELICCoder``) from the current weights; ``tables``: the
        stored z range-coding tables (``coding_tables()``), computed from the prior without."""
        if self.coder is None:
            from elicbench.codecs.elic.coding import ELICCoder

            self.coder = ELICCoder(self, tables)

    def _require_coder(self):
        if self.coder is None:
            raise RuntimeError("call model.prepare_for_coding() before compress/decompress")
        return self.coder

    def coding_tables(self) -> dict:
        """The z range-coding tables as numpy arrays (store them with the weights)."""
        return self._require_coder().coding_tables()

    def compress(self, image) -> list:
        """uint8 (H, W, 3) -> [x_shape, z_string, anchor strings..., non-anchor strings...]."""
        return self._require_coder().compress(image)

    def decompress(self, x_shape, z_string, *strings):
        """The outputs of ``compress`` -> uint8 (H, W, 3)."""
        return self._require_coder().decompress(x_shape, z_string, *strings)


def build_model(config: ELICConfig) -> ELICModel:
    """A new ELIC model with its variables created (random init)."""
    model = ELICModel(config)
    model(tf.zeros([1, SIZE_MULTIPLE, SIZE_MULTIPLE, 3]), training=False)
    return model
