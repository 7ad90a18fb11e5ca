"""Loaded ELIC models behind one interface: image <-> complete ELIC file (``container``).

``ELICRunner`` does everything around the model: input checks, the container, the model-id
and numerics checks, turning TensorFlow errors on corrupt data into ``CodecError``. Subclasses
only turn an image into range-coded strings and back: ``NativeRunner`` for models exported by
``export.export_model``, ``reference.ReferenceRunner`` for SavedModels with the signature of the
public TF2 implementation (Nikolai10/ELIC).

A file is untrusted input. Before any decoding, ``check_stream`` refuses what no encoder can
have written: another model or numerics profile, an image above ``max_pixels``, a tile the
encoder would not record, a wrong number of strings, and (native models, from the model's own
coding tables) strings too long for their symbol count, too short for it, or empty where the
symbols cannot code to nothing. What passes is decoded with a bound on the work (the range
decoder guard, below), and every decoded string must encode back to its exact bytes.

Why a guard: tensorflow-compression's range decoder (2.14, ``cc/kernels/range_coder_kernels.cc``)
reads zero bytes past the end of a string, and decodes a value outside the coding table (the
escape symbol) with an Elias-gamma code whose unary prefix loop,
``while (decoder.DecodeLinearly(binary_uniform_cdf, 1) == 0) ++n;``, has no bound. When the
decoder's value equals the base of its interval and only (implicit) zeros are left, every
binary decision is 0 and that loop never ends. A string of 0xFF bytes gets there: it keeps the
decoder at the top of its interval, where the escape symbol is, until the string ends. A valid
stream never does (its gamma prefixes are short and end in a 1 that the encoder wrote).

So each string reaches the decoder followed by ``GUARD_ZERO_BYTES`` zeros (the implicit zeros a
valid stream may still read: the 4-byte look-ahead plus 2 per renormalisation the encoder left
pending in its carry state; 64 bytes cover 29 of them, each about 2^-16 likely) and then 0xFF
bytes, ``GUARD_BITS_PER_SYMBOL`` per symbol. Reading 0xFF bytes keeps the ratio of the interval
size to the value's offset in it fixed at each renormalisation, so a gamma prefix there ends
within 32 decisions and a symbol costs at most 12.1 + 32 + 32 + 1 bits: the decoder never gets
past the guard, never reads an implicit zero, and its work is linear in the symbol count. A valid
stream never reads into the 0xFF part, so it decodes exactly as without the guard. The guard
defeats tensorflow-compression's own end-of-string sanity check, so each string is verified
instead by encoding its decoded symbols again: the encoder is deterministic, so the result must
be the string itself, or the file is refused. (Range-coded data has no redundancy: a changed
string that is itself exactly what the encoder writes for some symbols decodes to another image;
detecting corruption is the CRC's job. What decode guarantees is that it never returns an image
from strings that an encoder could not have written, and never hangs.)

Reference SavedModels decode inside their own graph: they get the header checks only.
"""
from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..base import CodecError
from . import container, tiling
from .config import SIZE_MULTIPLE, ELICConfig

# A range-coded symbol costs at least -log2(4095/4096) bits with 12-bit tables, so a file that
# is much shorter than this bound per latent element cannot be valid; checking it keeps a
# corrupt header from starting a huge decode.
MIN_BITS_PER_ELEMENT = -math.log2(1 - 2.0 ** -12)
#: What one string may fall short of its symbols' information: the encoder writes 16 bits per
#: renormalisation, leaves out trailing zeros, and at most MAX_PENDING_RENORMS renormalisations
#: pending in its carry state (each about 2^-16 likely) are written as implicit zeros.
MAX_PENDING_RENORMS = 29
STRING_SLACK_BITS = 32 + 16 * MAX_PENDING_RENORMS

# --- the range decoder guard (module docstring) ---------------------------------------------------
#: Zeros after each string: 4 bytes of look-ahead + 2 per pending renormalisation.
GUARD_ZERO_BYTES = 6 + 2 * MAX_PENDING_RENORMS
#: 0xFF bits after those per symbol of the string: a symbol read from 0xFF bytes costs at most
#: 12.1 bits (an interval of >= 2^16 split at 12-bit precision keeps >= 15 of it) + an escape's
#: Elias-gamma code of at most 32 + 32 bits + a sign bit = 77.1.
GUARD_BITS_PER_SYMBOL = 80
#: Decoded symbols (offsets into the coding table) must lie within +-SYMBOL_LIMIT: the encoder
#: cannot write an overflow code for |value| >= 2^30 (its Elias-gamma loop would not end), and a
#: symbol that far out does not come from 8-bit pixels.
SYMBOL_LIMIT = 1 << 29
#: The most bits a valid encoder spends on one symbol: 12.1 for the table entry, and an escaped
#: value below SYMBOL_LIMIT costs an Elias-gamma code of 2 x 29 + 1 bits and a sign bit.
MAX_BITS_PER_SYMBOL = 12.1 + 2 * 29 + 2


def guard_string(string: bytes, symbols: int) -> bytes:
    """``string`` as the range decoder gets it: bounded work whatever the bytes (module docstring)."""
    return b"".join((string, bytes(GUARD_ZERO_BYTES), b"\xff" * (-(-symbols * GUARD_BITS_PER_SYMBOL // 8) + 8)))


def max_string_bytes(symbols: int) -> int:
    """The longest string a valid encoder writes for ``symbols`` symbols (16 bits per
    renormalisation plus at most 2 final bytes)."""
    return math.floor(symbols * MAX_BITS_PER_SYMBOL / 8) + 8


@dataclass(frozen=True)
class TableFacts:
    """What a range-coding table (tfc's flat ``cdf``: per row the precision, then the CDF up to
    2^precision, padded with repeats of it) says about the strings coded with it."""

    #: Fewest bits any symbol costs (the most probable entry of the sharpest row).
    min_bits: float
    #: Fewest bits a symbol costs on the path an all-zero string decodes (each row's first
    #: entry of non-zero probability): an empty string codes at most 16 such bits.
    zero_path_bits: float

    @classmethod
    def of(cls, flat_cdf: np.ndarray) -> "TableFacts":
        flat = [int(v) for v in np.asarray(flat_cdf).reshape(-1)]
        min_bits = zero_bits = math.inf
        i = 0
        while i < len(flat):
            precision = abs(flat[i])
            top = 1 << precision
            j = i + 1
            while flat[j] != top:
                j += 1
            pmf = [b - a for a, b in zip(flat[i + 1:j], flat[i + 2:j + 1])]
            min_bits = min(min_bits, precision - math.log2(max(pmf)))
            zero_bits = min(zero_bits, precision - math.log2(next(p for p in pmf if p > 0)))
            i = j + 1
            while i < len(flat) and flat[i] == top:
                i += 1
        return cls(min_bits=min_bits, zero_path_bits=zero_bits)


def current_profile() -> int:
    """The numerics profile byte of this process (see ``container``)."""
    from ...tfenv import import_tf, onednn_enabled

    tf = import_tf()
    profile = 0
    if tf.config.list_logical_devices("GPU"):
        profile |= container.PROFILE_GPU
    if onednn_enabled():
        profile |= container.PROFILE_ONEDNN
    return profile


def summarize_tf_error(exc: BaseException) -> str:
    """One informative line of a TF error (whose text starts with 'Graph execution error:' and a trace)."""
    text = str(exc)
    found = re.search(r"assertion failed: \[([^\]]*)\]", text)
    if found:
        return found.group(1)
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("Graph execution error", "Detected at node", "File ", "[[")):
            return line[:200]
    return type(exc).__name__


def padded_size(n: int) -> int:
    return -(-n // SIZE_MULTIPLE) * SIZE_MULTIPLE


def check_image(image: Any) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise CodecError(f"ELIC encodes RGB uint8 images of shape (H, W, 3), got {image.dtype} {image.shape}")
    h, w = image.shape[:2]
    if not (1 <= h <= container.MAX_SIDE and 1 <= w <= container.MAX_SIDE) or h * w > container.MAX_PIXELS:
        raise CodecError(f"image size {w}x{h} is not supported (1..{container.MAX_SIDE} per side, "
                         f"at most {container.MAX_PIXELS} pixels)")
    return np.ascontiguousarray(image)


class ELICRunner(ABC):
    """A loaded model: ``compress(image) -> bytes``, ``decompress(bytes) -> image``."""

    #: 'native' or 'reference'
    kind: str = "?"
    #: Whether the transforms can run in tiles (``tiling``); others always code the whole image.
    supports_tiling: bool = False

    def __init__(self, path: Path, model_id: bytes, info: dict[str, Any]):
        if len(model_id) != container.MODEL_ID_BYTES:
            raise ValueError("model id must be 16 bytes")
        self.path = Path(path)
        self.model_id_bytes = model_id
        self.info = dict(info)
        self.profile = current_profile()

    # --- facts ------------------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        return self.model_id_bytes.hex()

    @property
    def lmbda(self) -> float | None:
        return self.info.get("lambda")

    @property
    def config(self) -> ELICConfig | None:
        return None

    @property
    @abstractmethod
    def num_strings(self) -> int:
        """Strings per file (1 + 2 x groups)."""

    @abstractmethod
    def latent_elements(self, padded_h: int, padded_w: int) -> int:
        """A lower bound on the number of range-coded symbols for this padded size."""

    # --- subclass work ----------------------------------------------------------------------
    @abstractmethod
    def encode_strings(self, image: np.ndarray, tile: int) -> list[bytes]:
        """uint8 (H, W, 3) -> the range-coded strings (z first), transforms in tiles of ``tile`` pixels."""

    @abstractmethod
    def decode_strings(self, height: int, width: int, strings: tuple[bytes, ...], tile: int) -> np.ndarray:
        """Strings -> uint8 (height, width, 3)."""

    def estimate_bits(self, image: np.ndarray) -> float:
        raise CodecError(f"{self.kind} ELIC models cannot estimate rates from likelihoods")

    # --- the container around it ------------------------------------------------------------
    def effective_tile(self, height: int, width: int, tile: int) -> int:
        """The tile a file records: 0 when the padded image is one tile anyway (or tiling is unsupported)."""
        tile = tiling.check_tile(tile)
        if not self.supports_tiling or (padded_size(height) <= tile and padded_size(width) <= tile):
            return 0
        return tile

    def compress(self, image: np.ndarray, tile: int = 0) -> bytes:
        """uint8 (H, W, 3) -> ELIC file. ``tile`` (pixels, multiple of 64; 0 = whole image) bounds
        the memory of the transforms; the decoder uses the tile recorded in the file."""
        image = check_image(image)
        h, w = image.shape[:2]
        tile = self.effective_tile(h, w, tile)
        strings = self.encode_strings(image, tile)
        if len(strings) != self.num_strings:
            raise CodecError(f"model produced {len(strings)} strings, expected {self.num_strings}")
        return container.pack(container.ELICStream(
            profile=self.profile, model_id=self.model_id_bytes, height=h, width=w, strings=tuple(strings),
            tile=tile))

    def check_stream(self, stream: container.ELICStream, strict_profile: bool = True,
                     max_pixels: int | None = None) -> None:
        """Refuse, before any decoding, a file that this model cannot have written (CodecError)."""
        if stream.model_id != self.model_id_bytes:
            raise CodecError(
                f"this ELIC file was encoded with model {stream.model_id.hex()}, but the loaded model is "
                f"{self.model_id} ({self.path}); decode it with the model that encoded it")
        if strict_profile and stream.profile != self.profile:
            raise CodecError(
                f"this ELIC file was encoded with numerics profile '{container.describe_profile(stream.profile)}', "
                f"this process runs '{container.describe_profile(self.profile)}'. The latents decode exactly "
                "either way (exact entropy parameters), but pixels may differ by one level; set "
                "TF_ENABLE_ONEDNN_OPTS / the device to match, or decode with strict_profile=False")
        if max_pixels and stream.height * stream.width > max_pixels:
            raise CodecError(f"this ELIC file holds a {stream.width}x{stream.height} image "
                             f"({stream.height * stream.width / 1e6:.1f} MP), above the limit of "
                             f"{max_pixels / 1e6:g} MP for decoding")
        if stream.tile and not self.supports_tiling:
            raise CodecError(f"this ELIC file was coded in tiles of {stream.tile} pixels; {self.kind} models "
                             "cannot decode tiled files")
        hp, wp = padded_size(stream.height), padded_size(stream.width)
        if stream.tile and stream.tile >= max(hp, wp):
            raise CodecError(f"ELIC file corrupt: tile {stream.tile} for a {stream.width}x{stream.height} "
                             "image, which is one tile (an encoder records tile 0 then)")
        if len(stream.strings) != self.num_strings:
            raise CodecError(f"ELIC file has {len(stream.strings)} strings, model "
                             f"{self.model_id} needs {self.num_strings}")
        elements = self.latent_elements(hp, wp)
        have_bits = 8 * sum(len(s) for s in stream.strings)
        if have_bits + 32 * len(stream.strings) < elements * MIN_BITS_PER_ELEMENT:
            raise CodecError(f"ELIC file corrupt: {have_bits} bits cannot code a "
                             f"{stream.width}x{stream.height} image")
        self.check_strings(stream)

    def check_strings(self, stream: container.ELICStream) -> None:
        """Model-specific checks of each string against the symbols it must code (CodecError)."""

    def decompress(self, data: bytes, strict_profile: bool = True, max_pixels: int | None = None) -> np.ndarray:
        """ELIC file -> uint8 (H, W, 3). ``max_pixels`` (None: no limit) refuses larger images
        before any work. Any problem with the data raises ``CodecError``."""
        from ...tfenv import import_tf

        tf = import_tf()
        stream = container.unpack(data)
        self.check_stream(stream, strict_profile, max_pixels)
        try:
            image = self.decode_strings(stream.height, stream.width, stream.strings, stream.tile)
        except (tf.errors.OpError, ValueError) as exc:
            summary = summarize_tf_error(exc)
            if summary.startswith("ELIC file corrupt"):  # a check of the guarded decoder
                raise CodecError(summary) from None
            raise CodecError(f"ELIC decoding failed, the data is corrupt or not for this model: {summary}") from None
        if image.shape != (stream.height, stream.width, 3) or image.dtype != np.uint8:
            raise CodecError(f"ELIC decoder returned {image.dtype} {image.shape}, "
                             f"expected uint8 {(stream.height, stream.width, 3)}")
        return image


class NativeRunner(ELICRunner):
    """A model directory written by ``export.export_model`` (config + weights + coding tables)."""

    kind = "native"
    supports_tiling = True

    def __init__(self, path: Path, model, model_id: bytes, info: dict[str, Any]):
        super().__init__(path, model_id, info)
        from ...tfenv import import_tf

        self._tf = import_tf()
        self.model = model
        model.prepare_for_coding()
        self.z_table = TableFacts.of(model.coder.z_coder.cdf.numpy())
        self.y_table = TableFacts.of(model.coder.y_coder.cdf.numpy())
        self._decode_z_fn = self._decode_groups_fn = None

    @property
    def config(self) -> ELICConfig:
        return self.model.config

    @property
    def num_strings(self) -> int:
        return 1 + 2 * self.model.config.num_groups

    def latent_elements(self, padded_h: int, padded_w: int) -> int:
        cfg = self.model.config
        return (padded_h // 16) * (padded_w // 16) * cfg.M + (padded_h // 64) * (padded_w // 64) * cfg.hyper_channels

    def symbol_counts(self, padded_h: int, padded_w: int) -> list[int]:
        """Symbols coded in each string: z, then per group its anchors, then its non-anchors."""
        cfg = self.model.config
        ys = [(padded_h // 16) * (padded_w // 16) // 2 * g for g in cfg.groups]
        return [(padded_h // 64) * (padded_w // 64) * cfg.hyper_channels] + ys + ys

    def string_name(self, i: int) -> str:
        g = self.model.config.num_groups
        if i == 0:
            return "string 0 (z)"
        return f"string {i} ({'anchors' if i <= g else 'non-anchors'} of group {(i - 1) % g})"

    def check_strings(self, stream: container.ELICStream) -> None:
        counts = self.symbol_counts(padded_size(stream.height), padded_size(stream.width))
        size = f"a {stream.width}x{stream.height} image"
        for i, (string, n) in enumerate(zip(stream.strings, counts)):
            table = self.z_table if i == 0 else self.y_table
            have = 8 * len(string)
            if have > 8 * max_string_bytes(n):
                raise CodecError(f"ELIC file corrupt: {self.string_name(i)} has {len(string)} bytes, more than "
                                 f"its {n} symbols of {size} can take (at most {max_string_bytes(n)})")
            if not string and n * table.zero_path_bits > 16:
                raise CodecError(f"ELIC file corrupt: {self.string_name(i)} is empty, but its {n} symbols "
                                 f"of {size} need at least {n * table.zero_path_bits:.0f} bits that way")
            if have + STRING_SLACK_BITS < n * table.min_bits:
                raise CodecError(f"ELIC file corrupt: {self.string_name(i)} has {len(string)} bytes, too few "
                                 f"for its {n} symbols of {size} (at least {n * table.min_bits:.0f} bits)")

    def encode_strings(self, image: np.ndarray, tile: int) -> list[bytes]:
        return self.model.coder.compress_tiled(image, tile)

    def decode_strings(self, height: int, width: int, strings: tuple[bytes, ...], tile: int) -> np.ndarray:
        """Like ``ELICModel.decompress_tiled`` (the same ops, so the same pixels), with the range
        decoder guarded and every string verified (module docstring)."""
        tf, model = self._tf, self.model
        if self._decode_z_fn is None:
            self._decode_z_fn, self._decode_groups_fn = _guarded_decoders(model, self.string_name)
        hp, wp = padded_size(height), padded_size(width)
        originals = [tf.constant([s]) for s in strings]
        guarded = [tf.constant([guard_string(s, n)]) for s, n in zip(strings, self.symbol_counts(hp, wp))]
        z_hat = self._decode_z_fn(tf.constant([hp, wp], tf.int32), guarded[0], originals[0])
        del guarded[0]
        y_hat = self._decode_groups_fn(model.coder.hyper_synthesis_tiled(z_hat, tile), *guarded, *originals[1:])
        del guarded
        return model.coder.synthesis_tiled(y_hat, height, width, tile)

    def estimate_bits(self, image: np.ndarray) -> float:
        """Bits of the whole padded image from the discrete likelihoods (no range coding)."""
        return float(self.model.coder.estimate_bits(self._tf.constant(check_image(image))))


def _guarded_decoders(model, string_name):
    """(decode_z, decode_groups): tf.functions computing what ``model.coder.decode_z_fn`` and
    ``model.coder.decode_groups_fn`` compute, with the same operations in the same order (so the same
    ẑ and ŷ, bit for bit), from guarded strings (``guard_string``), each followed by its original
    bytes for the verification. A failed check raises an InvalidArgumentError whose message
    starts "ELIC file corrupt"."""
    import tensorflow_compression as tfc

    from ...tfenv import import_tf
    from .coding import decode_groups

    tf = import_tf()
    cfg = model.config
    groups = cfg.num_groups

    def verified(symbols, original, encode, what):
        """``symbols`` once they are shown to encode back to ``original`` exactly."""
        in_range = tf.reduce_all((symbols > -SYMBOL_LIMIT) & (symbols < SYMBOL_LIMIT))
        checks = [tf.debugging.assert_equal(in_range, True, message=(
            f"ELIC file corrupt: {what} decodes to values beyond +-2^29, which no encoder writes"))]
        with tf.control_dependencies(checks):
            # Clipped, so that the encoder never sees a value it cannot code.
            again = encode(tf.clip_by_value(symbols, 1 - SYMBOL_LIMIT, SYMBOL_LIMIT - 1))
            same = tf.reduce_all(tf.equal(again, original))
        checks.append(tf.debugging.assert_equal(same, True, message=(
            f"ELIC file corrupt: the symbols decoded from {what} do not encode back to its bytes")))
        with tf.control_dependencies(checks):
            return tf.identity(symbols)

    z_coder = model.coder.z_coder

    def decode_z(padded_shape, guarded, original):
        # As ContinuousBatchedEntropyModel.decompress(original, padded_shape // 64).
        broadcast_shape = padded_shape // SIZE_MULTIPLE
        decode_shape = tf.concat([broadcast_shape, [tf.reduce_prod(z_coder.prior_shape_tensor)]], 0)
        output_shape = tf.concat([tf.shape(guarded), broadcast_shape, z_coder.prior_shape_tensor], 0)
        handle = tfc.create_range_decoder(guarded, z_coder.cdf)
        handle, symbols = tfc.entropy_decode_channel(handle, decode_shape, z_coder.cdf_offset.dtype)

        def encode(values):
            encoder = tfc.create_range_encoder(tf.shape(original), z_coder.cdf)
            return tfc.entropy_encode_finalize(tfc.entropy_encode_channel(encoder, values))

        symbols = verified(symbols, original, encode, string_name(0))
        symbols += z_coder.cdf_offset
        symbols = tf.reshape(symbols, output_shape)
        outputs = tf.cast(symbols, z_coder.bottleneck_dtype)
        if z_coder.quantization_offset is not None:
            outputs += z_coder.quantization_offset
        return outputs

    y_coder = model.coder.y_coder

    class VerifyingCoder:
        """Stands in for ``model.coder.y_coder`` in ``coding.decode_groups``; its "strings" are
        (guarded, original, name) triples."""

        def decompress(self, strings, scale_indexes, loc=None):
            # As LocationScaleIndexedEntropyModel.decompress(original, scale_indexes, loc).
            guarded, original, what = strings
            flat_indexes = y_coder._flatten_indexes(y_coder._normalize_indexes(scale_indexes))
            decode_shape = tf.shape(flat_indexes)[-y_coder.coding_rank:]
            handle = tfc.create_range_decoder(guarded, y_coder.cdf)
            handle, symbols = tfc.entropy_decode_index(handle, flat_indexes, decode_shape, y_coder.cdf_offset.dtype)

            def encode(values):
                encoder = tfc.create_range_encoder(tf.shape(original), y_coder.cdf)
                return tfc.entropy_encode_finalize(tfc.entropy_encode_index(encoder, flat_indexes, values))

            symbols = verified(symbols, original, encode, what)
            symbols += tf.gather(y_coder.cdf_offset, flat_indexes)
            values = tf.cast(symbols, y_coder.bottleneck_dtype)
            if loc is not None:
                values += loc
            return values

    def decode_y(psi, *strings):
        n = 2 * groups
        triples = [(strings[i], strings[n + i], string_name(1 + i)) for i in range(n)]
        return decode_groups(model.coder.exact_path, cfg, triples[:groups], triples[groups:], psi, VerifyingCoder())

    string = tf.TensorSpec([1], tf.string)
    decode_z_fn = tf.function(decode_z, input_signature=[tf.TensorSpec([2], tf.int32), string, string])
    decode_y_fn = tf.function(decode_y, input_signature=[tf.TensorSpec([1, None, None, cfg.hyper_out], tf.float64)]
                              + [string] * (4 * groups))
    return decode_z_fn, decode_y_fn
