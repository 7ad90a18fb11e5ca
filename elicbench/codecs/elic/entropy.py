"""SCCTX, the space-channel context model of ELIC, as trained (docs/elic-design.md §3).

For each channel group k (uneven sizes, e.g. 16/16/32/64/192):

- channel context g_ch^(k): convs over concat(ŷ^(0..k-1)) -> Φ_ch (2·g_k channels), k >= 1;
- spatial context g_sp^(k): checkerboard-masked 5x5 conv over the decoded anchors -> Φ_sp;
- parameter aggregation EP^(k): 1x1 convs over concat(Φ_ch, Φ_sp, Ψ) -> (μ, scale index).

The coding order is ``checkerboard.space_channel_schedule``. Range coding evaluates these same
networks in exact arithmetic (``exact.ExactParameterPath``), so that encoder and decoder derive
identical means and scale indices on any machine.

Imports TensorFlow: only the paths that code or train import this module.
"""
from __future__ import annotations

import math

from elicbench.codecs.elic.checkerboard import demux, mux, round_st, space_channel_schedule
from elicbench.codecs.elic.config import ELICConfig
from elicbench.codecs.elic.layers import CheckerboardConv2D
from elicbench.tfenv import import_tf

tf = import_tf()
keras = tf.keras


def scale_table(config: ELICConfig):
    """Scale index (float or int) -> Gaussian scale, log-spaced in [scale_min, scale_max]."""
    log_min = math.log(config.scale_min)
    step = (math.log(config.scale_max) - log_min) / (config.num_scales - 1)
    return lambda index: tf.exp(log_min + step * tf.cast(index, tf.float32))


class SpaceChannelContext(keras.layers.Layer):
    """All per-group context and parameter networks; ``call`` is the training forward."""

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
                keras.layers.Conv2D(f0 * g, 1, padding="same", activation="relu", name="conv0"),
                keras.layers.Conv2D(f1 * g, 1, padding="same", activation="relu", name="conv1"),
                keras.layers.Conv2D(2 * g, 1, padding="same", name="out"),
            ], name=f"param_aggregation{k}"))

    # --- the ParameterPath of checkerboard.space_channel_schedule --------------------------------
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

    # --- training / estimation --------------------------------------------------------------------
    def call(self, y, psi):
        """Two-pass mimic of checkerboard decoding with mixed quantisation.

        Returns ŷ (STE-rounded around μ) and, per group and pass, (y_part, μ, index) for the rate.
        """
        halves = [demux(y_k) for y_k in tf.split(y, list(self.config.groups), axis=-1)]
        rate_terms = []

        def quantise(half: int):
            def run_pass(k, mu, index):
                y_part = halves[k][half]
                rate_terms.append((y_part, mu, index))
                return round_st(y_part - mu) + mu
            return run_pass

        y_hat = space_channel_schedule(self, self.config.num_groups, psi, quantise(0), quantise(1))
        return y_hat, rate_terms
