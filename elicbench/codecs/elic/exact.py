"""The decoder-critical networks of ELIC in exact arithmetic (docs/elic-design.md §6).

Range decoding needs the encoder's scale indices bit for bit; ``ExactParameterPath`` evaluates
h_s, the channel and spatial contexts and the parameter aggregation so that every machine, thread
count and device gets the same μ and scale indices. It is a ``checkerboard.ParameterPath``: the
coding paths (``coding``) run it through the same schedule as training.

Imports TensorFlow: only the paths that code import this module.
"""
from __future__ import annotations

import numpy as np

from elicbench.codecs.elic.checkerboard import demux, mux
from elicbench.codecs.elic.config import ELICConfig
from elicbench.codecs.elic.layers import checkerboard_kernel_mask
from elicbench.tfenv import import_tf

tf = import_tf()
keras = tf.keras


def layer_spec(layer, mask=None):
    """(kind, kernel, bias, stride, relu) of a Keras Conv2D/Conv2DTranspose, as numpy float64."""
    if isinstance(layer, keras.layers.Conv2DTranspose):
        kind = "transpose"
    elif isinstance(layer, keras.layers.Conv2D):
        kind = "conv"
    else:
        raise TypeError(f"exact parameter path: unsupported layer {type(layer).__name__}")
    if layer.padding != "same" or layer.dilation_rate != (1, 1) or layer.strides[0] != layer.strides[1]:
        raise ValueError(f"exact parameter path: layer {layer.name} must use same padding, square stride")
    activation = getattr(layer.activation, "__name__", "")
    if activation not in ("relu", "linear"):
        raise ValueError(f"exact parameter path: layer {layer.name} has activation {activation!r}")
    kernel = layer.kernel.numpy().astype(np.float64)
    if mask is not None:
        kernel = kernel * mask[:, :, None, None]
    bias = layer.bias.numpy().astype(np.float64) if layer.use_bias else None
    return kind, kernel, bias, int(layer.strides[0]), activation == "relu"


class ExactParameterPath(tf.Module):
    """The decoder-critical networks (h_s, g_ch, g_sp, EP) in exact fixed-point arithmetic.

    Range decoding needs the encoder's scale indices bit for bit. In float32, TF's CPU
    convolutions sum in an order that depends on the number of intra-op threads (and on
    oneDNN, and on the device), so the same weights give slightly different indices in
    different processes. Here every layer input is rounded to a multiple of 2^-ACT_FRAC_BITS
    and clipped to ±ACT_LIMIT, every weight is rounded to a multiple of 2^-a (a chosen per
    layer) and the layer runs in float64. Then every product and every partial sum is an exact
    multiple of 2^-(a+ACT_FRAC_BITS) below 2^53 units, so the result is exact whatever the
    summation order: μ and the scale index are identical on any machine. The rounding moves
    values by < 2^-16 (inputs) and < 2^-a (weights), far below what changes the rate.
    """

    ACT_FRAC_BITS = 16
    ACT_LIMIT = 2.0 ** 12
    MAX_WEIGHT_FRAC_BITS = 24
    MIN_WEIGHT_FRAC_BITS = 10

    def __init__(self, config: ELICConfig, hyper_synthesis, scctx, name="exact_parameter_path"):
        super().__init__(name=name)
        self.config = config
        self.hyper_synthesis_layers = self._convert(hyper_synthesis.layers, "h_s")
        self.channel_context_layers = [
            [] if net is None else self._convert(net.layers, f"g_ch{k}")
            for k, net in enumerate(scctx.channel_context)
        ]
        self.spatial_context_layers = []
        for k, layer in enumerate(scctx.spatial_context):
            mask = checkerboard_kernel_mask(layer.kernel_size[0])
            self.spatial_context_layers.append(self._convert([layer], f"g_sp{k}", masks=[mask]))
        self.param_layers = [self._convert(net.layers, f"ep{k}") for k, net in enumerate(scctx.param_aggregation)]
        # Less work per checkerboard pass, same exact sums (only terms that are always zero go):
        self.spatial_block_layers = [self._block_layers(layers) for layers in self.spatial_context_layers]
        self.anchor_param_layers = [self._anchor_layers(layers, k) for k, layers in enumerate(self.param_layers)]

    @staticmethod
    def _block_layers(layers):
        """The masked 5x5 spatial context as a 3x3 convolution over 2x2 blocks: anchors [B | C]
        in, non-anchors [A | D] out (sub-positions as in ``demux``). Evaluated on the full grid
        (``mux`` + conv + ``demux``), 13 of the 25 taps read zeros (the masked ones and, for the
        other half, the non-anchors) and half the outputs are thrown away; per block this does
        9 x 2 x 2 = 36 multiply-adds per channel pair instead of 4 x 25 = 100. Every weight
        lands on exactly one block tap, so each output sums the same products as before."""
        (spec,) = layers
        kernel = spec["kernel"].numpy()
        size = kernel.shape[0]
        if size != 5 or spec["stride"] != 1 or spec["kind"] != "conv":
            raise ValueError("exact parameter path: the spatial context must be a 5x5 stride-1 conv")
        c_in, c_out = kernel.shape[2], kernel.shape[3]
        block = np.zeros((3, 3, 2 * c_in, 2 * c_out), np.float64)
        for o, (orow, ocol) in enumerate(((0, 0), (1, 1))):          # outputs A, D
            for i, (irow, icol) in enumerate(((0, 1), (1, 0))):      # inputs B, C
                for bi in range(-1, 2):
                    for bj in range(-1, 2):
                        di, dj = 2 * bi + irow - orow, 2 * bj + icol - ocol
                        if abs(di) <= 2 and abs(dj) <= 2:
                            block[bi + 1, bj + 1, i * c_in:(i + 1) * c_in, o * c_out:(o + 1) * c_out] = \
                                kernel[di + 2, dj + 2]
        bias = spec["bias"]
        return [{**spec, "kernel": tf.constant(block),
                 "bias": None if bias is None else tf.concat([bias, bias], 0)}]

    def _anchor_layers(self, layers, k):
        """The parameter aggregation of the anchor pass, whose Φ_sp inputs are all zero: the
        first 1x1 layer without those input rows."""
        first = layers[0]
        g2 = 2 * self.config.groups[k]
        start = g2 if k > 0 else 0  # inputs are [Φ_ch (k >= 1), Φ_sp, Ψ]
        kernel = tf.concat([first["kernel"][:, :, :start], first["kernel"][:, :, start + g2:]], 2)
        return [{**first, "kernel": kernel}] + list(layers[1:])

    def _convert(self, layers, prefix, masks=None):
        out = []
        for i, layer in enumerate(layers):
            kind, kernel, bias, stride, relu = layer_spec(layer, None if masks is None else masks[i])
            out_axis = 2 if kind == "transpose" else 3
            in_axes = tuple(a for a in range(4) if a != out_axis)
            # Worst-case |partial sum| of one output, in units of 2^-(a + ACT_FRAC_BITS).
            bound = np.abs(kernel).sum(axis=in_axes).max() * self.ACT_LIMIT
            if bias is not None:
                bound += np.abs(bias).max()
            bound = max(bound, 1.0)
            frac = int(np.floor(51 - self.ACT_FRAC_BITS - np.log2(bound)))  # one bit of margin
            frac = min(frac, self.MAX_WEIGHT_FRAC_BITS)
            if frac < self.MIN_WEIGHT_FRAC_BITS:
                raise ValueError(
                    f"layer {prefix}/{layer.name}: weights too large for exact coding "
                    f"(sum of |w| x {self.ACT_LIMIT:g} = {bound:.3g}); the model is not usable for coding")
            scale = 2.0 ** frac
            kernel_q = np.round(kernel * scale) / scale
            bias_unit = 2.0 ** (frac + self.ACT_FRAC_BITS)
            bias_q = None if bias is None else np.round(bias * bias_unit) / bias_unit
            out.append({
                "kind": kind,
                "stride": stride,
                "relu": relu,
                "kernel": tf.Variable(kernel_q, trainable=False, name=f"{prefix}_{i}_kernel"),
                "bias": None if bias_q is None else tf.Variable(bias_q, trainable=False, name=f"{prefix}_{i}_bias"),
            })
        return out

    # --- arithmetic -------------------------------------------------------------------------
    def quantize_input(self, x):
        scale = 2.0 ** self.ACT_FRAC_BITS
        x = tf.round(tf.cast(x, tf.float64) * scale) / scale
        return tf.clip_by_value(x, -self.ACT_LIMIT, self.ACT_LIMIT)

    def run(self, layers, x):
        for spec in layers:
            x = self.quantize_input(x)
            kernel = spec["kernel"]
            s = spec["stride"]
            if spec["kind"] == "conv":
                x = tf.nn.conv2d(x, kernel, s, "SAME")
            else:
                shape = tf.shape(x)
                out_shape = tf.stack([shape[0], shape[1] * s, shape[2] * s, tf.shape(kernel)[2]])
                x = tf.nn.conv2d_transpose(x, kernel, out_shape, s, "SAME")
            if spec["bias"] is not None:
                x = x + spec["bias"]
            if spec["relu"]:
                x = tf.nn.relu(x)
        return x

    # --- the pieces the coding loop needs ---------------------------------------------------
    def hyper_synthesis(self, z_hat):
        """ẑ -> Ψ (float64, exact)."""
        return self.quantize_input(self.run(self.hyper_synthesis_layers, z_hat))

    def channel_features(self, k: int, decoded: list):
        if k == 0:
            return None, None
        prev = decoded[0] if k == 1 else tf.concat(decoded[:k], axis=-1)
        return demux(self.quantize_input(self.run(self.channel_context_layers[k], prev)))

    def spatial_features(self, k: int, anchors_hat):
        """Φ_sp^(k) at the non-anchor positions (demuxed), from the demuxed decoded anchors;
        equal, bit for bit, to ``demux(g_sp(mux(anchors_hat, None)))[1]`` (``_block_layers``)."""
        b, c = tf.split(anchors_hat, 2, axis=2)
        out = self.run(self.spatial_block_layers[k], tf.concat([b, c], axis=-1))
        a, d = tf.split(self.quantize_input(out), 2, axis=-1)
        return tf.concat([a, d], axis=2)

    def spatial_features_full_grid(self, k: int, anchors_hat):
        """``spatial_features`` the plain way (the masked conv on the whole grid); for tests."""
        out = self.run(self.spatial_context_layers[k], mux(anchors_hat, None))
        _, non_anchor_part = demux(self.quantize_input(out))
        return non_anchor_part

    def params(self, k: int, phi_ch, phi_sp, psi):
        """-> (μ float32, scale index float32 holding the floored, clamped integer). ``phi_sp``
        None = the anchor pass, where Φ_sp is zero: its inputs are left out (``_anchor_layers``)."""
        if phi_sp is None:
            parts = ([phi_ch] if phi_ch is not None else []) + [psi]
            layers = self.anchor_param_layers[k]
        else:
            parts = ([phi_ch] if phi_ch is not None else []) + [phi_sp, psi]
            layers = self.param_layers[k]
        out = self.run(layers, tf.concat(parts, axis=-1))
        mu, index = tf.split(out, 2, axis=-1)
        index = tf.floor(tf.clip_by_value(index, 0.0, self.config.num_scales - 1.0))
        return tf.cast(mu, tf.float32), tf.cast(index, tf.float32)
