"""The ELIC model: transforms + hyperprior + SCCTX, with training forward and real range coding.

He, Yang, Peng, Ma, Qin, Wang: "ELIC: Efficient Learned Image Compression with Unevenly Grouped
Space-Channel Contextual Adaptive Coding", CVPR 2022 (arXiv:2203.10886); as implemented here and
where it follows the TF2 reference: docs/elic-design.md.

``build_model(config)`` creates a built ``ELICModel`` (variables exist, so checkpoints restore).

Training forward (``model(x, training=True)``, x float32 [B, H, W, 3] in 0..255, H and W multiples
of 64) returns a dict: ``x_hat`` (0..255, unclipped), ``bits`` / ``bits_y`` / ``bits_z`` per image,
``bpp`` (batch mean of bits / (H·W)) and ``mse`` (0..255 scale). The rate of z uses additive noise,
h_s sees STE-rounded z; y uses mixed quantisation with the two-pass checkerboard mimic.
``training=False`` rounds for real and takes discrete likelihoods with the floored scale index
the range coder uses, i.e. a close estimate of the coded size.

Coding: ``prepare_for_coding()`` builds the range-coding tables, then ``compress(uint8 HW3)``
returns ``[x_shape int32[2], z_string, anchor strings (groups 0..G-1), non-anchor strings]`` (each
string ``string[1]``) and ``decompress(x_shape, z_string, *strings)`` returns uint8 HW3. The
image is padded (edge replication) to a multiple of 64 inside and cropped back.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import tiling
from ._lazy import lazy_module_getattr
from .config import SIZE_MULTIPLE, ELICConfig


def _define(tf) -> dict[str, Any]:
    import tensorflow_compression as tfc

    keras = tf.keras
    from .entropy import ExactParameterPath, SpaceChannelContext, decode_groups, encode_groups, round_st
    from .transforms import (
        analysis_transform, hyper_analysis_transform, hyper_synthesis_transform, synthesis_transform,
    )

    def padded_size(size):
        """Smallest multiple of SIZE_MULTIPLE >= size (int32 tensor)."""
        return (size + SIZE_MULTIPLE - 1) // SIZE_MULTIPLE * SIZE_MULTIPLE

    def pad_replicate(image):
        """HWC image -> padded to multiples of 64 by repeating the last row/column."""
        shape = tf.shape(image)
        rows = tf.minimum(tf.range(padded_size(shape[0])), shape[0] - 1)
        cols = tf.minimum(tf.range(padded_size(shape[1])), shape[1] - 1)
        return tf.gather(tf.gather(image, rows, axis=0), cols, axis=1)

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
            log_min, log_max = math.log(config.scale_min), math.log(config.scale_max)
            self._log_scale_min = log_min
            self._log_scale_step = (log_max - log_min) / (config.num_scales - 1)
            # Rates are computed in float32 also under mixed precision (bit sums overflow float16).
            self.y_rate_model = tfc.LocationScaleIndexedEntropyModel(
                tfc.NoisyNormal, config.num_scales, self.scale_fn, coding_rank=3, compression=False,
                bottleneck_dtype=tf.float32)
            self.z_coder = None
            self.y_coder = None
            self.exact_path = None

        def scale_fn(self, index):
            """Scale index (float or int) -> Gaussian scale, log-spaced in [scale_min, scale_max]."""
            return tf.exp(self._log_scale_min + self._log_scale_step * tf.cast(index, tf.float32))

        # --- training / validation ---------------------------------------------------------------
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

        # --- coding -------------------------------------------------------------------------------
        @property
        def coding_ready(self) -> bool:
            return self.z_coder is not None

        def prepare_for_coding(self, tables: dict | None = None) -> None:
            """Build everything compress/decompress need from the current weights.

            ``tables`` (from ``coding_tables()``, e.g. stored next to the weights) gives the z
            range-coding tables; without it they are computed from the prior. Computing them runs
            an optimisation (tail estimation) whose last bits may depend on the machine, so a
            model directory stores them and every process decodes with the same tables.
            """
            if self.coding_ready:
                return
            cfg = self.config
            if tables is None:
                # Tail estimation of the factorized prior is ~16 s eagerly, ~1 s traced (docs/elic-design.md §9).
                @tf.function
                def z_tables():
                    m = tfc.ContinuousBatchedEntropyModel(
                        self.hyper_prior, coding_rank=3, compression=True, stateless=True, offset_heuristic=False)
                    return m.cdf, m.cdf_offset

                cdf, cdf_offset = z_tables()
            else:
                cdf = tf.constant(tables["z_cdf"], tf.int32)
                cdf_offset = tf.constant(tables["z_cdf_offset"], tf.int32)
                if cdf_offset.shape != (cfg.hyper_channels,):
                    raise ValueError(f"z coding tables are for {cdf_offset.shape[0]} channels, "
                                     f"the model has {cfg.hyper_channels}")
            self.z_coder = tfc.ContinuousBatchedEntropyModel(
                prior_shape=[cfg.hyper_channels], coding_rank=3, compression=True,
                cdf=cdf, cdf_offset=cdf_offset, offset_heuristic=False)
            # Gaussian tables: closed form per scale, identical everywhere.
            self.y_coder = tfc.LocationScaleIndexedEntropyModel(
                tfc.NoisyNormal, cfg.num_scales, self.scale_fn, coding_rank=3, compression=True)
            self.exact_path = ExactParameterPath(cfg, self.h_s, self.scctx)
            num_strings = 1 + 2 * cfg.num_groups
            self.compress_fn = tf.function(
                self._compress, input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)])
            self.decompress_fn = tf.function(
                self._decompress,
                input_signature=[tf.TensorSpec([2], tf.int32)] + [tf.TensorSpec([1], tf.string)] * num_strings)
            self.estimate_bits_fn = tf.function(
                self._estimate_bits, input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)])
            # The pieces of the tiled path (``compress_tiled`` / ``decompress_tiled``).
            latent = tf.TensorSpec([1, None, None, cfg.M], tf.float32)
            psi = tf.TensorSpec([1, None, None, cfg.hyper_out], tf.float64)
            string = tf.TensorSpec([1], tf.string)
            self.analysis_fn = tf.function(
                self.g_a, input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)])
            self.encode_z_fn = tf.function(self._encode_z, input_signature=[latent])
            self.decode_z_fn = tf.function(self._decode_z, input_signature=[tf.TensorSpec([2], tf.int32), string])
            self.hyper_synthesis_fn = tf.function(
                self.exact_path.hyper_synthesis,
                input_signature=[tf.TensorSpec([1, None, None, cfg.hyper_channels], tf.float32)])
            self.encode_groups_fn = tf.function(self._encode_groups, input_signature=[latent, psi])
            self.decode_groups_fn = tf.function(self._decode_groups, input_signature=[psi] + [string] * (num_strings - 1))
            self.synthesis_fn = tf.function(self._synthesize_pixels, input_signature=[latent])
            self.analysis_halo = tiling.analysis_halo(self.g_a.layers)
            self.synthesis_halo = tiling.synthesis_halo(self.g_s.layers)
            self.hyper_synthesis_halo = tiling.input_radius(self.h_s.layers)

        def coding_tables(self) -> dict:
            """The z range-coding tables as numpy arrays (store them with the weights)."""
            self._require_coding()
            return {"z_cdf": self.z_coder.cdf.numpy(), "z_cdf_offset": self.z_coder.cdf_offset.numpy()}

        def _require_coding(self):
            if not self.coding_ready:
                raise RuntimeError("call model.prepare_for_coding() before compress/decompress")

        def compress(self, image) -> list:
            """uint8 (H, W, 3) -> [x_shape, z_string, anchor strings..., non-anchor strings...]."""
            self._require_coding()
            return self.compress_fn(image)

        def decompress(self, x_shape, z_string, *strings):
            """The outputs of ``compress`` -> uint8 (H, W, 3)."""
            self._require_coding()
            return self.decompress_fn(x_shape, z_string, *strings)

        def estimate_bits(self, image):
            """Rate of the padded image from discrete likelihoods (no range coding)."""
            self._require_coding()
            return self.estimate_bits_fn(image)

        def analyse(self, image):
            """uint8 HW3 -> (padded image [1, Hp, Wp, 3] float, y, z)."""
            x = tf.cast(pad_replicate(image), tf.float32)[None]
            y = self.g_a(x)
            return x, y, self.h_a(y)

        def encode_latents(self, y, z):
            """y, z -> (z_string, anchor strings, non-anchor strings, ŷ as the decoder will see it)."""
            z_string = self.z_coder.compress(z)
            # == z_coder.decompress(z_string): z is coded on the integer grid.
            psi = self.exact_path.hyper_synthesis(tf.round(z))
            anchors, non_anchors, y_hat = encode_groups(self.exact_path, self.config, y, psi, self.y_coder)
            return z_string, anchors, non_anchors, y_hat

        def decode_latents(self, padded_shape, z_string, anchors, non_anchors):
            """Strings -> ŷ, for an image padded to ``padded_shape`` (int32[2], multiples of 64)."""
            psi = self.exact_path.hyper_synthesis(self._decode_z(padded_shape, z_string))
            return decode_groups(self.exact_path, self.config, anchors, non_anchors, psi, self.y_coder)

        def synthesize(self, y_hat, x_shape):
            x_hat = self.g_s(y_hat)[0, : x_shape[0], : x_shape[1], :]
            return tf.saturate_cast(tf.round(x_hat), tf.uint8)

        def _compress(self, image):
            _, y, z = self.analyse(image)
            z_string, anchors, non_anchors, _ = self.encode_latents(y, z)
            x_shape = tf.shape(image, out_type=tf.int32)[:2]
            return [x_shape, z_string] + anchors + non_anchors

        def _decompress(self, x_shape, z_string, *strings):
            g = self.config.num_groups
            tf.debugging.assert_positive(x_shape, message="image size must be positive")
            y_hat = self.decode_latents(padded_size(x_shape), z_string, list(strings[:g]), list(strings[g:]))
            return self.synthesize(y_hat, x_shape)

        # --- tiled coding: bounded memory on large images (see ``tiling``) ----------------------
        def _encode_z(self, y):
            """y -> (z string, ẑ); z is coded on the integer grid, so ẑ = round(z) is what the decoder gets."""
            z = self.h_a(y)
            return self.z_coder.compress(z), tf.round(z)

        def _decode_z(self, padded_shape, z_string):
            return self.z_coder.decompress(z_string, padded_shape // SIZE_MULTIPLE)

        def _encode_groups(self, y, psi):
            anchors, non_anchors, _ = encode_groups(self.exact_path, self.config, y, psi, self.y_coder)
            return anchors + non_anchors

        def _decode_groups(self, psi, *strings):
            g = self.config.num_groups
            return decode_groups(self.exact_path, self.config, list(strings[:g]), list(strings[g:]), psi, self.y_coder)

        def hyper_synthesis_tiled(self, z_hat, tile: int) -> np.ndarray:
            """ẑ -> Ψ (float64) in tiles. The exact path's arithmetic is exact, so tiles give the
            whole-image Ψ bit for bit. Whole, its float64 transposed convolutions take memory like
            the pixel transforms (`full`, ẑ of a 4096x2752 image: peak +2.3 GB whole, +0.6 GB in
            1024-pixel tiles)."""
            z_hat = np.asarray(z_hat, np.float32)
            tiles = tiling.plan(z_hat.shape[1], z_hat.shape[2], tile, self.hyper_synthesis_halo, unit=1)
            if len(tiles) == 1:
                return self.hyper_synthesis_fn(z_hat).numpy()
            f = SIZE_MULTIPLE // tiling.LATENT_STRIDE  # latents per z sample and axis
            psi = np.empty((1, z_hat.shape[1] * f, z_hat.shape[2] * f, self.config.hyper_out), np.float64)
            return tiling.apply(self.hyper_synthesis_fn, z_hat, tiles, psi, factor=f)

        def _synthesize_pixels(self, y_hat):
            return tf.saturate_cast(tf.round(self.g_s(y_hat)[0]), tf.uint8)

        def compress_tiled(self, image: np.ndarray, tile: int) -> list[bytes]:
            """uint8 (H, W, 3) -> [z_string, anchor strings..., non-anchor strings...] as bytes.

            g_a runs on crops of at most ``tile`` + 2 x halo pixels per side (``tile=0``: the
            whole padded image at once), and so does the exact h_s on ẑ; the context and
            parameter networks and the range coder run on the whole latent.
            """
            self._require_coding()
            h, w = image.shape[:2]
            hp, wp = padded_size(h), padded_size(w)
            x = np.pad(image, ((0, hp - h), (0, wp - w), (0, 0)), mode="edge").astype(np.float32)[None]
            tiles = tiling.plan(hp, wp, tile, self.analysis_halo, unit=SIZE_MULTIPLE)
            if len(tiles) == 1:
                y = self.analysis_fn(x)
            else:
                s = tiling.LATENT_STRIDE
                y = np.empty((1, hp // s, wp // s, self.config.M), np.float32)
                tiling.apply(self.analysis_fn, x, tiles, y, divisor=s)
                del x
            y = tf.convert_to_tensor(y, tf.float32)
            z_string, z_hat = self.encode_z_fn(y)
            psi = self.hyper_synthesis_tiled(z_hat, tile)
            return [bytes(z_string.numpy()[0])] + [bytes(t.numpy()[0]) for t in self.encode_groups_fn(y, psi)]

        def decompress_tiled(self, height: int, width: int, strings, tile: int) -> np.ndarray:
            """Strings of ``compress_tiled`` -> uint8 (height, width, 3); g_s runs on tiles of ``tile`` pixels."""
            self._require_coding()
            hp, wp = padded_size(height), padded_size(width)
            strings = [tf.constant([string]) for string in strings]
            z_hat = self.decode_z_fn(tf.constant([hp, wp], tf.int32), strings[0])
            y_hat = self.decode_groups_fn(self.hyper_synthesis_tiled(z_hat, tile), *strings[1:])
            return self.synthesis_tiled(y_hat, height, width, tile)

        def synthesis_tiled(self, y_hat, height: int, width: int, tile: int) -> np.ndarray:
            """ŷ of a padded image -> its uint8 (height, width, 3); g_s runs on tiles of ``tile`` pixels."""
            hp, wp = padded_size(height), padded_size(width)
            s = tiling.LATENT_STRIDE
            tiles = tiling.plan(hp // s, wp // s, tile, self.synthesis_halo, unit=SIZE_MULTIPLE // s)
            if len(tiles) == 1:
                return self.synthesis_fn(y_hat).numpy()[:height, :width]
            out = np.empty((hp, wp, 3), np.uint8)  # padded, like the whole-image path; cut below
            return tiling.apply(self.synthesis_fn, y_hat.numpy(), tiles, out, factor=s)[:height, :width]

        def _estimate_bits(self, image):
            x = tf.cast(pad_replicate(image), tf.float32)[None]
            return self(x, training=False)["bits"][0]

    def build_model(config: ELICConfig) -> ELICModel:
        """A new ELIC model with its variables created (random init)."""
        model = ELICModel(config)
        model(tf.zeros([1, SIZE_MULTIPLE, SIZE_MULTIPLE, 3]), training=False)
        return model

    return {
        "ELICModel": ELICModel,
        "build_model": build_model,
        "pad_replicate": pad_replicate,
        "padded_size": padded_size,
    }


__getattr__ = lazy_module_getattr(_define, __name__)


def build_model(config: ELICConfig):
    """A new, built ``ELICModel`` for ``config`` (imports TensorFlow)."""
    return __getattr__("build_model")(config)
