"""The space-channel coding order of ELIC's SCCTX, written once (docs/elic-design.md §3).

ELIC codes y in uneven channel groups, and each group in two checkerboard passes: the anchors
(with the channel context of the groups before and the hyperprior Ψ), then the non-anchors (also
with the spatial context of the group's decoded anchors). Training (the two-pass mimic with
straight-through rounding), encoding and decoding follow this order through
:func:`space_channel_schedule`; they differ only in what a pass does with (μ, scale index) and in
which networks compute them (``entropy.SpaceChannelContext`` in float32 for training,
``exact.ExactParameterPath`` in exact arithmetic for coding).

Checkerboard: anchors are the positions with (row + col) odd, non-anchors (row + col) even.
``demux`` gathers each half into a dense tensor (B, h/2, w, c), the two sub-lattices side by side
along the width, so that the 1x1 parameter aggregation and the range coder only touch the
positions of the current pass; ``mux`` is its inverse (zeros where a half is missing).

Imports TensorFlow: only the paths that code or train import this module.
"""
from __future__ import annotations

from typing import Callable, Protocol

from elicbench.tfenv import import_tf

tf = import_tf()


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


class ParameterPath(Protocol):
    """The networks that give each pass its entropy parameters."""

    def channel_features(self, k: int, decoded: list):
        """Φ_ch^(k) from the decoded groups ŷ^(<k), demuxed into (anchors, non-anchors); (None, None) for k = 0."""

    def spatial_features(self, k: int, anchors_hat):
        """Φ_sp^(k) at the non-anchor positions, from the group's decoded (demuxed) anchors."""

    def params(self, k: int, phi_ch, phi_sp, psi):
        """(μ, scale index) of one checkerboard half from Φ_ch, Φ_sp (None: the anchor pass) and Ψ."""


#: What a pass does: (group k, μ, scale index) -> the group's decoded half ŷ (demuxed).
Pass = Callable[[int, object, object], object]


def space_channel_schedule(path: ParameterPath, num_groups: int, psi, anchor_pass: Pass, non_anchor_pass: Pass):
    """Run the SCCTX order over ``num_groups`` groups and return ŷ (all groups, muxed).

    Per group k: channel context from ŷ^(<k); anchors from (Φ_ch, Ψ); spatial context from the
    decoded anchors; non-anchors from (Φ_ch, Φ_sp, Ψ).
    """
    psi_a, psi_n = demux(psi)
    decoded = []
    for k in range(num_groups):
        ch_a, ch_n = path.channel_features(k, decoded)
        mu_a, index_a = path.params(k, ch_a, None, psi_a)
        y_a_hat = anchor_pass(k, mu_a, index_a)
        mu_n, index_n = path.params(k, ch_n, path.spatial_features(k, y_a_hat), psi_n)
        y_n_hat = non_anchor_pass(k, mu_n, index_n)
        decoded.append(mux(y_a_hat, y_n_hat))
    return tf.concat(decoded, axis=-1)
