"""SCCTX: the space-channel context entropy model of ELIC (ELIC.md §3).

For each channel group k (uneven sizes, e.g. 16/16/32/64/192):

- channel context g_ch^(k): convs over concat(ŷ^(0..k-1)) -> Φ_ch (2·g_k channels), k >= 1;
- spatial context g_sp^(k): checkerboard-masked 5x5 conv over the decoded anchors -> Φ_sp;
- parameter aggregation EP^(k): 1x1 convs over concat(Φ_ch, Φ_sp, Ψ) -> (μ, scale index).

Checkerboard: anchors are the positions with (row + col) odd, non-anchors (row + col) even.
``demux`` gathers each half into a dense tensor (B, h/2, w, c) — the two sub-lattices side by
side along the width — so that the 1x1 parameter aggregation and the range coder only touch the
positions of the current pass; ``mux`` is its inverse (zeros where a half is missing).

The same code computes (μ, index) for training, for the encoder and for the decoder, so that
both sides of the range coder run identical operations on identical shapes.
"""
from __future__ import annotations

from typing import Any

from ._lazy import lazy_module_getattr
from .config import ELICConfig


def _define(tf) -> dict[str, Any]:
    keras = tf.keras
    from .layers import CheckerboardConv2D

    def demux(t):
        """(B, h, w, c) with even h, w -> (anchors, non_anchors), each (B, h/2, w, c).

        Sub-positions of each 2x2 block: A=(0,0), B=(0,1), C=(1,0), D=(1,1);
        anchors = [B | C], non-anchors = [A | D] (concatenated along the width).
        """
        a = t[:, 0::2, 0::2, :]
        b = t[:, 0::2, 1::2, :]
        c = t[:, 1::2, 0::2, :]
        d = t[:, 1::2, 1::2, :]
        return tf.concat([b, c], axis=2), tf.concat([a, d], axis=2)

    def mux(anchors, non_anchors):
        """Inverse of ``demux``; either half may be None (filled with zeros)."""
        ref = anchors if anchors is not None else non_anchors
        if anchors is None:
            anchors = tf.zeros_like(ref)
        if non_anchors is None:
            non_anchors = tf.zeros_like(ref)
        b, c = tf.split(anchors, 2, axis=2)
        a, d = tf.split(non_anchors, 2, axis=2)
        return tf.nn.depth_to_space(tf.concat([a, b, c, d], axis=-1), 2)

    def round_st(t):
        """Round half to even (like the range coder's quantiser) with a straight-through gradient."""
        return t + tf.stop_gradient(tf.round(t) - t)

    class SpaceChannelContext(keras.layers.Layer):
        """All per-group context and parameter networks, plus the pass logic."""

        def __init__(self, config: ELICConfig, **kwargs):
            super().__init__(**kwargs)
            self.config = config
            w0, w1 = config.channel_context_widths
            f0, f1 = config.param_hidden_factors
            self.channel_context = []
            self.spatial_context = []
            self.param_aggregation = []
            for k, g in enumerate(config.groups):
                if k == 0:
                    self.channel_context.append(None)
                else:
                    self.channel_context.append(keras.Sequential([
                        keras.layers.Conv2D(w0, 5, padding="same", activation="relu", name="conv0"),
                        keras.layers.Conv2D(w1, 5, padding="same", activation="relu", name="conv1"),
                        keras.layers.Conv2D(2 * g, 3, padding="same", name="out"),
                    ], name=f"channel_context{k}"))
                self.spatial_context.append(CheckerboardConv2D(2 * g, 5, name=f"spatial_context{k}"))
                self.param_aggregation.append(keras.Sequential([
                    keras.layers.Conv2D(f0 * g, 1, activation="relu", name="conv0"),
                    keras.layers.Conv2D(f1 * g, 1, activation="relu", name="conv1"),
                    keras.layers.Conv2D(2 * g, 1, name="out"),
                ], name=f"param_aggregation{k}"))

        # --- shared pieces --------------------------------------------------------------------
        def channel_features(self, k: int, decoded: list):
            """Φ_ch^(k) demuxed into (anchors, non_anchors), or (None, None) for k = 0."""
            if k == 0:
                return None, None
            prev = decoded[0] if k == 1 else tf.concat(decoded[:k], axis=-1)
            return demux(self.channel_context[k](prev))

        def params(self, k: int, phi_ch, phi_sp, psi):
            """(μ, scale index) on one checkerboard half; phi_sp None = anchor pass (zeros)."""
            if phi_sp is None:
                phi_sp = tf.zeros(tf.concat([tf.shape(psi)[:-1], [2 * self.config.groups[k]]], 0), psi.dtype)
            parts = ([phi_ch] if phi_ch is not None else []) + [phi_sp, psi]
            out = self.param_aggregation[k](tf.concat(parts, axis=-1))
            mu, index = tf.split(out, 2, axis=-1)
            return mu, index

        def spatial_features(self, k: int, anchors_hat):
            """Φ_sp^(k) at the non-anchor positions, from the decoded anchors."""
            _, non_anchor_part = demux(self.spatial_context[k](mux(anchors_hat, None)))
            return non_anchor_part

        # --- training / estimation ------------------------------------------------------------
        def call(self, y, psi):
            """Two-pass mimic of checkerboard decoding with mixed quantisation.

            Returns ŷ (STE-rounded around μ) and, per group and pass, (y_part, μ, index) for the rate.
            """
            psi_a, psi_n = demux(psi)
            groups = tf.split(y, list(self.config.groups), axis=-1)
            decoded, rate_terms = [], []
            for k, y_k in enumerate(groups):
                ch_a, ch_n = self.channel_features(k, decoded)
                y_a, y_n = demux(y_k)
                mu_a, idx_a = self.params(k, ch_a, None, psi_a)
                y_a_hat = round_st(y_a - mu_a) + mu_a
                mu_n, idx_n = self.params(k, ch_n, self.spatial_features(k, y_a_hat), psi_n)
                y_n_hat = round_st(y_n - mu_n) + mu_n
                rate_terms += [(y_a, mu_a, idx_a), (y_n, mu_n, idx_n)]
                decoded.append(mux(y_a_hat, y_n_hat))
            return tf.concat(decoded, axis=-1), rate_terms

        # --- range coding -----------------------------------------------------------------------
        def encode(self, y, psi, coder):
            """y (1, h, w, M) -> (anchor strings, non-anchor strings, ŷ), as the decoder will see it."""
            psi_a, psi_n = demux(psi)
            groups = tf.split(y, list(self.config.groups), axis=-1)
            decoded, anchor_strings, non_anchor_strings = [], [], []
            for k, y_k in enumerate(groups):
                ch_a, ch_n = self.channel_features(k, decoded)
                y_a, y_n = demux(y_k)
                mu_a, idx_a = self.params(k, ch_a, None, psi_a)
                anchor_strings.append(coder.compress(y_a, idx_a, loc=mu_a))
                y_a_hat = tf.round(y_a - mu_a) + mu_a  # == coder.decompress(...), bit for bit
                mu_n, idx_n = self.params(k, ch_n, self.spatial_features(k, y_a_hat), psi_n)
                non_anchor_strings.append(coder.compress(y_n, idx_n, loc=mu_n))
                y_n_hat = tf.round(y_n - mu_n) + mu_n
                decoded.append(mux(y_a_hat, y_n_hat))
            return anchor_strings, non_anchor_strings, tf.concat(decoded, axis=-1)

        def decode(self, anchor_strings, non_anchor_strings, psi, coder):
            """Strings + Ψ -> ŷ: per group, channel context, anchor pass, spatial context, non-anchor pass."""
            psi_a, psi_n = demux(psi)
            decoded = []
            for k in range(self.config.num_groups):
                ch_a, ch_n = self.channel_features(k, decoded)
                mu_a, idx_a = self.params(k, ch_a, None, psi_a)
                y_a_hat = coder.decompress(anchor_strings[k], idx_a, loc=mu_a)
                mu_n, idx_n = self.params(k, ch_n, self.spatial_features(k, y_a_hat), psi_n)
                y_n_hat = coder.decompress(non_anchor_strings[k], idx_n, loc=mu_n)
                decoded.append(mux(y_a_hat, y_n_hat))
            return tf.concat(decoded, axis=-1)

    return {
        "demux": demux,
        "mux": mux,
        "round_st": round_st,
        "SpaceChannelContext": SpaceChannelContext,
    }


__getattr__ = lazy_module_getattr(_define, __name__)
