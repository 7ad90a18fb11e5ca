"""SCCTX: the space-channel context entropy model of ELIC (docs/elic-design.md §3).

For each channel group k (uneven sizes, e.g. 16/16/32/64/192):

- channel context g_ch^(k): convs over concat(ŷ^(0..k-1)) -> Φ_ch (2·g_k channels), k >= 1;
- spatial context g_sp^(k): checkerboard-masked 5x5 conv over the decoded anchors -> Φ_sp;
- parameter aggregation EP^(k): 1x1 convs over concat(Φ_ch, Φ_sp, Ψ) -> (μ, scale index).

Checkerboard: anchors are the positions with (row + col) odd, non-anchors (row + col) even.
``demux`` gathers each half into a dense tensor (B, h/2, w, c) — the two sub-lattices side by
side along the width — so that the 1x1 parameter aggregation and the range coder only touch the
positions of the current pass; ``mux`` is its inverse (zeros where a half is missing).

Training uses the float32 Keras layers. Range coding uses ``ExactParameterPath``: the same
networks evaluated in exact fixed-point arithmetic, so that encoder and decoder derive identical
means and scale indices on any machine, thread count or device (see its docstring).
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
                    keras.layers.Conv2D(f0 * g, 1, padding="same", activation="relu", name="conv0"),
                    keras.layers.Conv2D(f1 * g, 1, padding="same", activation="relu", name="conv1"),
                    keras.layers.Conv2D(2 * g, 1, padding="same", name="out"),
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

    def _layer_spec(layer, mask=None):
        """(kind, kernel, bias, stride, relu) of a Keras Conv2D/Conv2DTranspose, as numpy float64."""
        import numpy as np

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
            from .layers import checkerboard_kernel_mask

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
            import numpy as np

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
            import numpy as np

            out = []
            for i, layer in enumerate(layers):
                kind, kernel, bias, stride, relu = _layer_spec(layer, None if masks is None else masks[i])
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

    def encode_groups(path, config: ELICConfig, y, psi, coder):
        """y (1, h, w, M) -> (anchor strings, non-anchor strings, ŷ exactly as the decoder will see it)."""
        psi_a, psi_n = demux(psi)
        groups = tf.split(y, list(config.groups), axis=-1)
        decoded, anchor_strings, non_anchor_strings = [], [], []
        for k, y_k in enumerate(groups):
            ch_a, ch_n = path.channel_features(k, decoded)
            y_a, y_n = demux(y_k)
            mu_a, idx_a = path.params(k, ch_a, None, psi_a)
            anchor_strings.append(coder.compress(y_a, idx_a, loc=mu_a))
            y_a_hat = tf.round(y_a - mu_a) + mu_a  # == coder.decompress(...), bit for bit
            mu_n, idx_n = path.params(k, ch_n, path.spatial_features(k, y_a_hat), psi_n)
            non_anchor_strings.append(coder.compress(y_n, idx_n, loc=mu_n))
            y_n_hat = tf.round(y_n - mu_n) + mu_n
            decoded.append(mux(y_a_hat, y_n_hat))
        return anchor_strings, non_anchor_strings, tf.concat(decoded, axis=-1)

    def decode_groups(path, config: ELICConfig, anchor_strings, non_anchor_strings, psi, coder):
        """Per group: channel context, anchor pass, spatial context, non-anchor pass -> ŷ."""
        psi_a, psi_n = demux(psi)
        decoded = []
        for k in range(config.num_groups):
            ch_a, ch_n = path.channel_features(k, decoded)
            mu_a, idx_a = path.params(k, ch_a, None, psi_a)
            y_a_hat = coder.decompress(anchor_strings[k], idx_a, loc=mu_a)
            mu_n, idx_n = path.params(k, ch_n, path.spatial_features(k, y_a_hat), psi_n)
            y_n_hat = coder.decompress(non_anchor_strings[k], idx_n, loc=mu_n)
            decoded.append(mux(y_a_hat, y_n_hat))
        return tf.concat(decoded, axis=-1)

    return {
        "demux": demux,
        "mux": mux,
        "round_st": round_st,
        "SpaceChannelContext": SpaceChannelContext,
        "ExactParameterPath": ExactParameterPath,
        "encode_groups": encode_groups,
        "decode_groups": decode_groups,
    }


__getattr__ = lazy_module_getattr(_define, __name__)
