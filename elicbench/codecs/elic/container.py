"""The ELIC file format: one image's range-coded strings plus what is needed to decode them.

All integers are unsigned; ``varint`` is LEB128 (7 bits per byte, low group first, at most 5
bytes, no overlong encodings)::

    offset  size  field
    0       4     magic b"ELIC"
    4       1     format version (FORMAT_VERSION = 2; version 1 files, without the tile field,
                  are still read, as tile 0)
    5       1     numerics profile: bit 0 = encoded on a GPU, bit 1 = TF_ENABLE_ONEDNN_OPTS on;
                  bits 2-7 must be 0
    6       16    model id: the first 16 bytes of the SHA-256 of the model (config, weights,
                  coding tables; see ``export.model_id``). Decoding refuses any other model.
    22      var   varint height, varint width: the original image size (1..MAX_SIDE each).
                  The coded image was padded to multiples of 64; latent shapes follow from it
                  (y: padded/16, z: padded/64), so they are not stored.
            var   varint tile (version 2): the synthesis tile side in 64-pixel blocks, 0 = the
                  whole image at once (see ``tiling``). Decoders run g_s on the same tiles, so
                  that a file decodes to the same pixels everywhere its numerics profile holds.
            var   varint n: number of strings (1..MAX_STRINGS); for an ELIC model with G channel
                  groups n = 1 + 2G, in the order z, anchors of groups 0..G-1, non-anchors 0..G-1
            ...   n times: varint length (0..MAX_STRING_BYTES), then that many bytes
    end-4   4     CRC-32 (zlib, little-endian) of all preceding bytes; nothing may follow it

The overhead over the raw strings is 27 bytes + about 2 bytes per string + 4 for the size and
count (about 52 bytes for G = 5 on a Kodak image, i.e. about 0.001 bpp). The CRC matters: a range
decoder fed a flipped bit usually does not fail, it silently decodes a different image.

``unpack`` checks the CRC, every field and every length and raises ``CodecError`` naming what is
wrong; it never reads past the end.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from ..base import CodecError

MAGIC = b"ELIC"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
MODEL_ID_BYTES = 16
MAX_SIDE = 1 << 15
MAX_PIXELS = 1 << 27
MAX_STRINGS = 64
MAX_STRING_BYTES = 1 << 30
TILE_BLOCK = 64
MAX_TILE_BLOCKS = MAX_SIDE // TILE_BLOCK

PROFILE_GPU = 0x01
PROFILE_ONEDNN = 0x02
_PROFILE_KNOWN = PROFILE_GPU | PROFILE_ONEDNN


def describe_profile(profile: int) -> str:
    """Human-readable numerics profile, e.g. 'cpu, oneDNN off'."""
    device = "gpu" if profile & PROFILE_GPU else "cpu"
    onednn = "on" if profile & PROFILE_ONEDNN else "off"
    return f"{device}, oneDNN {onednn}"


@dataclass(frozen=True)
class ELICStream:
    """The decoded header and strings of one ELIC file."""

    profile: int
    model_id: bytes
    height: int
    width: int
    strings: tuple[bytes, ...]
    #: Synthesis tile side in pixels (a multiple of 64), 0 = untiled.
    tile: int = 0
    version: int = FORMAT_VERSION


def _varint(value: int) -> bytes:
    if value < 0 or value >= 1 << 35:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def pack(stream: ELICStream) -> bytes:
    """Serialise a stream; raises ValueError for values the format cannot hold."""
    if stream.profile & ~_PROFILE_KNOWN or not 0 <= stream.profile <= 0xFF:
        raise ValueError(f"unknown numerics profile bits: {stream.profile:#x}")
    if len(stream.model_id) != MODEL_ID_BYTES:
        raise ValueError(f"model id must be {MODEL_ID_BYTES} bytes, got {len(stream.model_id)}")
    _check_size(stream.height, stream.width, ValueError)
    if stream.tile < 0 or stream.tile % TILE_BLOCK or stream.tile // TILE_BLOCK > MAX_TILE_BLOCKS:
        raise ValueError(f"tile must be 0 or a multiple of {TILE_BLOCK} up to {MAX_TILE_BLOCKS * TILE_BLOCK}, "
                         f"got {stream.tile}")
    if not 1 <= len(stream.strings) <= MAX_STRINGS:
        raise ValueError(f"an ELIC file holds 1..{MAX_STRINGS} strings, got {len(stream.strings)}")
    parts = [MAGIC, bytes([FORMAT_VERSION, stream.profile]), stream.model_id,
             _varint(stream.height), _varint(stream.width), _varint(stream.tile // TILE_BLOCK),
             _varint(len(stream.strings))]
    for s in stream.strings:
        if len(s) > MAX_STRING_BYTES:
            raise ValueError(f"string of {len(s)} bytes is too long for the format")
        parts += [_varint(len(s)), bytes(s)]
    body = b"".join(parts)
    return body + struct.pack("<I", zlib.crc32(body))


def _check_size(height: int, width: int, error) -> None:
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise error(f"image size {width}x{height} is outside 1..{MAX_SIDE} per side")
    if height * width > MAX_PIXELS:
        raise error(f"image size {width}x{height} has more than {MAX_PIXELS} pixels")


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if n > len(self.data) - self.pos:
            raise CodecError(f"ELIC file truncated: {what} needs {n} bytes at offset {self.pos}, "
                             f"only {len(self.data) - self.pos} left")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def varint(self, what: str) -> int:
        value = shift = 0
        for i in range(5):
            if self.pos >= len(self.data):
                raise CodecError(f"ELIC file truncated inside {what} at offset {self.pos}")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if i and byte == 0:
                    raise CodecError(f"ELIC file corrupt: overlong varint for {what} at offset {self.pos - 1}")
                return value
            shift += 7
        raise CodecError(f"ELIC file corrupt: varint for {what} longer than 5 bytes at offset {self.pos}")


def unpack(data: bytes) -> ELICStream:
    """Parse and validate an ELIC file; any problem raises ``CodecError``."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CodecError(f"ELIC data must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if data[:len(MAGIC)] != MAGIC:
        raise CodecError(f"not an ELIC file: starts with {data[:len(MAGIC)]!r}, expected {MAGIC!r}")
    if len(data) < len(MAGIC) + 2 + MODEL_ID_BYTES + 3 + 4:
        raise CodecError(f"ELIC file truncated: {len(data)} bytes is shorter than any header")
    stored_crc, = struct.unpack("<I", data[-4:])
    body = data[:-4]
    if zlib.crc32(body) != stored_crc:
        raise CodecError("ELIC file corrupt or truncated: CRC-32 mismatch")
    r = _Reader(body)
    r.take(len(MAGIC), "magic")
    version, profile = r.take(2, "version and profile")
    if version not in READABLE_VERSIONS:
        raise CodecError(f"ELIC file format version {version} is not supported "
                         f"(this build reads {', '.join(map(str, READABLE_VERSIONS))})")
    if profile & ~_PROFILE_KNOWN:
        raise CodecError(f"ELIC file corrupt: unknown numerics profile bits {profile:#04x}")
    model_id = r.take(MODEL_ID_BYTES, "model id")
    height = r.varint("height")
    width = r.varint("width")
    _check_size(height, width, lambda m: CodecError(f"ELIC file corrupt: {m}"))
    tile = 0
    if version >= 2:
        blocks = r.varint("tile")
        if blocks > MAX_TILE_BLOCKS:
            raise CodecError(f"ELIC file corrupt: tile of {blocks} blocks (at most {MAX_TILE_BLOCKS})")
        tile = blocks * TILE_BLOCK
    count = r.varint("string count")
    if not 1 <= count <= MAX_STRINGS:
        raise CodecError(f"ELIC file corrupt: {count} strings (expected 1..{MAX_STRINGS})")
    strings = []
    for i in range(count):
        n = r.varint(f"length of string {i}")
        if n > MAX_STRING_BYTES:
            raise CodecError(f"ELIC file corrupt: string {i} claims {n} bytes")
        strings.append(r.take(n, f"string {i}"))
    if r.pos != len(r.data):
        raise CodecError(f"ELIC file corrupt: {len(r.data) - r.pos} unexpected bytes before the CRC")
    return ELICStream(profile=profile, model_id=model_id, height=height, width=width,
                      strings=tuple(strings), tile=tile, version=version)
