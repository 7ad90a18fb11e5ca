"""How an ELIC model codes an image (docs/elic-design.md §3, §6).

``ELICCoder`` holds everything coding needs beyond the trained networks: the range coders of z
(factorized prior, tables stored with the model) and of y (Gaussian, one table per scale index),
the exact parameter path, and the traced functions of two ways to code:

- whole image: ``compress`` / ``decompress``, the tf.functions a SavedModel exports;
- tiled: ``compress_tiled`` / ``decompress_tiled``, the pixel transforms on crops of bounded size
  (``tiling``), the entropy model on the whole latent; what ``elicbench run`` uses.

Both code the latent through :func:`encode_groups` / :func:`decode_groups`, i.e. through
``checkerboard.space_channel_schedule`` with the exact path, so they write identical strings.
(The third way, the TF2 reference's SavedModel signature, is in ``reference``.)

Imports TensorFlow: only the paths that code import this module.
"""
from __future__ import annotations

import numpy as np
import tensorflow_compression as tfc

from elicbench.codecs.elic import tiling
from elicbench.codecs.elic.checkerboard import demux, space_channel_schedule
from elicbench.codecs.elic.config import SIZE_MULTIPLE, ELICConfig
from elicbench.codecs.elic.entropy import scale_table
from elicbench.codecs.elic.exact import ExactParameterPath
from elicbench.tfenv import import_tf

tf = import_tf()


def padded_size(size):
    """Smallest multiple of SIZE_MULTIPLE >= size (int32 tensor)."""
    return (size + SIZE_MULTIPLE - 1) // SIZE_MULTIPLE * SIZE_MULTIPLE


def pad_replicate(image):
    """HWC image -> padded to multiples of 64 by repeating the last row/column."""
    shape = tf.shape(image)
    rows = tf.minimum(tf.range(padded_size(shape[0])), shape[0] - 1)
    cols = tf.minimum(tf.range(padded_size(shape[1])), shape[1] - 1)
    return tf.gather(tf.gather(image, rows, axis=0), cols, axis=1)


def encode_groups(path: ExactParameterPath, config: ELICConfig, y, psi, coder):
    """y (1, h, w, M) -> (anchor strings, non-anchor strings, ŷ exactly as the decoder will see it)."""
    halves = [demux(y_k) for y_k in tf.split(y, list(config.groups), axis=-1)]
    strings = ([], [])

    def code(half: int):
        def run_pass(k, mu, index):
            y_part = halves[k][half]
            strings[half].append(coder.compress(y_part, index, loc=mu))
            return tf.round(y_part - mu) + mu  # == coder.decompress(...), bit for bit
        return run_pass

    y_hat = space_channel_schedule(path, config.num_groups, psi, code(0), code(1))
    return strings[0], strings[1], y_hat


def decode_groups(path: ExactParameterPath, config: ELICConfig, anchor_strings, non_anchor_strings, psi, coder):
    """The strings of ``encode_groups`` -> ŷ. ``coder`` needs only ``decompress(strings, index, loc)``."""
    return space_channel_schedule(
        path, config.num_groups, psi,
        lambda k, mu, index: coder.decompress(anchor_strings[k], index, loc=mu),
        lambda k, mu, index: coder.decompress(non_anchor_strings[k], index, loc=mu))


class ELICCoder:
    """The coding side of one ``model.ELICModel`` (its weights as they are when this is built).

    ``tables`` (from ``coding_tables()``, e.g. stored next to the weights) gives the z
    range-coding tables; without it they are computed from the prior. Computing them runs
    an optimisation (tail estimation) whose last bits may depend on the machine, so a
    model directory stores them and every process decodes with the same tables.
    """

    def __init__(self, model, tables: dict | None = None):
        self.model = model
        self.config = cfg = model.config
        if tables is None:
            # Tail estimation of the factorized prior is ~16 s eagerly, ~1 s traced (docs/elic-design.md §9).
            @tf.function
            def z_tables():
                m = tfc.ContinuousBatchedEntropyModel(
                    model.hyper_prior, coding_rank=3, compression=True, stateless=True, offset_heuristic=False)
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
            tfc.NoisyNormal, cfg.num_scales, scale_table(cfg), coding_rank=3, compression=True)
        self.exact_path = ExactParameterPath(cfg, model.h_s, model.scctx)
        num_strings = 1 + 2 * cfg.num_groups
        image = tf.TensorSpec([None, None, 3], tf.uint8)
        self.compress_fn = tf.function(self._compress, input_signature=[image])
        self.decompress_fn = tf.function(
            self._decompress, input_signature=[tf.TensorSpec([2], tf.int32)] + [tf.TensorSpec([1], tf.string)] * num_strings)
        self.estimate_bits_fn = tf.function(self._estimate_bits, input_signature=[image])
        # The pieces of the tiled path.
        latent = tf.TensorSpec([1, None, None, cfg.M], tf.float32)
        psi = tf.TensorSpec([1, None, None, cfg.hyper_out], tf.float64)
        string = tf.TensorSpec([1], tf.string)
        self.analysis_fn = tf.function(model.g_a, input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)])
        self.encode_z_fn = tf.function(self._encode_z, input_signature=[latent])
        self.decode_z_fn = tf.function(self._decode_z, input_signature=[tf.TensorSpec([2], tf.int32), string])
        self.hyper_synthesis_fn = tf.function(
            self.exact_path.hyper_synthesis,
            input_signature=[tf.TensorSpec([1, None, None, cfg.hyper_channels], tf.float32)])
        self.encode_groups_fn = tf.function(self._encode_groups, input_signature=[latent, psi])
        self.decode_groups_fn = tf.function(self._decode_groups, input_signature=[psi] + [string] * (num_strings - 1))
        self.synthesis_fn = tf.function(self._synthesize_pixels, input_signature=[latent])
        self.analysis_halo = tiling.analysis_halo(model.g_a.layers)
        self.synthesis_halo = tiling.synthesis_halo(model.g_s.layers)
        self.hyper_synthesis_halo = tiling.input_radius(model.h_s.layers)

    def coding_tables(self) -> dict:
        """The z range-coding tables as numpy arrays (store them with the weights)."""
        return {"z_cdf": self.z_coder.cdf.numpy(), "z_cdf_offset": self.z_coder.cdf_offset.numpy()}

    # --- whole image ---------------------------------------------------------------------------
    def compress(self, image) -> list:
        """uint8 (H, W, 3) -> [x_shape int32[2], z_string, anchor strings..., non-anchor strings...]."""
        return self.compress_fn(image)

    def decompress(self, x_shape, z_string, *strings):
        """The outputs of ``compress`` -> uint8 (H, W, 3)."""
        return self.decompress_fn(x_shape, z_string, *strings)

    def estimate_bits(self, image):
        """Rate of the padded image from discrete likelihoods (no range coding)."""
        return self.estimate_bits_fn(image)

    def analyse(self, image):
        """uint8 HW3 -> (padded image [1, Hp, Wp, 3] float, y, z)."""
        x = tf.cast(pad_replicate(image), tf.float32)[None]
        y = self.model.g_a(x)
        return x, y, self.model.h_a(y)

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
        x_hat = self.model.g_s(y_hat)[0, : x_shape[0], : x_shape[1], :]
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

    def _estimate_bits(self, image):
        x = tf.cast(pad_replicate(image), tf.float32)[None]
        return self.model(x, training=False)["bits"][0]

    # --- tiled: bounded memory on large images (see ``tiling``) -----------------------------------
    def _encode_z(self, y):
        """y -> (z string, ẑ); z is coded on the integer grid, so ẑ = round(z) is what the decoder gets."""
        z = self.model.h_a(y)
        return self.z_coder.compress(z), tf.round(z)

    def _decode_z(self, padded_shape, z_string):
        return self.z_coder.decompress(z_string, padded_shape // SIZE_MULTIPLE)

    def _encode_groups(self, y, psi):
        anchors, non_anchors, _ = encode_groups(self.exact_path, self.config, y, psi, self.y_coder)
        return anchors + non_anchors

    def _decode_groups(self, psi, *strings):
        g = self.config.num_groups
        return decode_groups(self.exact_path, self.config, list(strings[:g]), list(strings[g:]), psi, self.y_coder)

    def _synthesize_pixels(self, y_hat):
        return tf.saturate_cast(tf.round(self.model.g_s(y_hat)[0]), tf.uint8)

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

    def compress_tiled(self, image: np.ndarray, tile: int) -> list[bytes]:
        """uint8 (H, W, 3) -> [z_string, anchor strings..., non-anchor strings...] as bytes.

        g_a runs on crops of at most ``tile`` + 2 x halo pixels per side (``tile=0``: the
        whole padded image at once), and so does the exact h_s on ẑ; the context and
        parameter networks and the range coder run on the whole latent.
        """
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
