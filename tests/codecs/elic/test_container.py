"""The ELIC file format: round trip, validation, corruption (no TensorFlow needed)."""
from __future__ import annotations

import random

import pytest

from elicbench.codecs.base import CodecError
from elicbench.codecs.elic import container
from elicbench.codecs.elic.container import ELICStream, pack, unpack


def stream(**over) -> ELICStream:
    fields = dict(profile=container.PROFILE_ONEDNN, model_id=bytes(range(16)), height=333, width=517,
                  strings=(b"z" * 40, b"", b"\x00\xff" * 150, b"a" * 127, b"b" * 128))
    fields.update(over)
    return ELICStream(**fields)


def test_round_trip_and_layout():
    s = stream()
    data = pack(s)
    assert unpack(data) == s
    assert data[:4] == b"ELIC" and data[4] == container.FORMAT_VERSION and data[5] == container.PROFILE_ONEDNN
    assert data[6:22] == bytes(range(16))
    raw = sum(len(x) for x in s.strings)
    # header 22 + sizes 2+2 + tile 1 + count 1 + lengths (1,1,2,1,2) + CRC 4
    assert len(data) - raw == 22 + 4 + 1 + 1 + 7 + 4


def test_tile_round_trips_and_is_checked():
    s = stream(tile=1024)
    assert unpack(pack(s)).tile == 1024
    assert unpack(pack(stream())).tile == 0
    for bad in (-64, 100, (container.MAX_TILE_BLOCKS + 1) * 64):
        with pytest.raises(ValueError, match="tile"):
            pack(stream(tile=bad))


def test_version_1_files_are_still_read_as_untiled():
    """Format 1 had no tile field: the same bytes without it, version byte 1."""
    s = stream()
    body = pack(s)[:-4]
    size_end = 22 + 2 + 2  # height 333 and width 517 take two varint bytes each
    assert body[size_end] == 0  # the tile field
    v1 = body[:4] + bytes([1]) + body[5:size_end] + body[size_end + 1:]
    old = unpack(_with_crc(v1))
    assert old.version == 1 and old.tile == 0
    assert (old.height, old.width, old.strings, old.model_id) == (s.height, s.width, s.strings, s.model_id)


def test_large_values_round_trip():
    s = stream(height=container.MAX_SIDE, width=4096, strings=(b"x" * 70000,))
    assert unpack(pack(s)) == s


@pytest.mark.parametrize("over, message", [
    (dict(height=0), "outside"),
    (dict(width=container.MAX_SIDE + 1), "outside"),
    (dict(model_id=b"short"), "16 bytes"),
    (dict(profile=0x80), "profile"),
    (dict(strings=()), "strings"),
])
def test_pack_refuses_what_the_format_cannot_hold(over, message):
    with pytest.raises(ValueError, match=message):
        pack(stream(**over))


def test_every_truncation_is_refused():
    data = pack(stream())
    for n in range(len(data)):
        with pytest.raises(CodecError):
            unpack(data[:n])


def test_every_single_byte_flip_is_refused():
    data = pack(stream())
    rng = random.Random(0)
    for i in range(len(data)):
        flipped = bytearray(data)
        flipped[i] ^= 1 << rng.randrange(8)
        with pytest.raises(CodecError):
            unpack(bytes(flipped))


def test_trailing_bytes_and_wrong_magic_are_refused():
    data = pack(stream())
    with pytest.raises(CodecError):
        unpack(data + b"\x00")
    with pytest.raises(CodecError, match="not an ELIC file"):
        unpack(b"\x89PNG" + data[4:])
    with pytest.raises(CodecError, match="must be bytes"):
        unpack("ELIC")  # type: ignore[arg-type]


def _with_crc(body: bytes) -> bytes:
    import struct
    import zlib

    return body + struct.pack("<I", zlib.crc32(body))


def test_header_checks_behind_a_valid_crc():
    body = pack(stream())[:-4]
    bad_version = body[:4] + bytes([99]) + body[5:]
    with pytest.raises(CodecError, match="version 99"):
        unpack(_with_crc(bad_version))
    bad_profile = body[:5] + bytes([0x40]) + body[6:]
    with pytest.raises(CodecError, match="profile"):
        unpack(_with_crc(bad_profile))
    # overlong varint for the height (0x80 0x00 = 0 written in two bytes)
    head = body[:22]
    with pytest.raises(CodecError, match="overlong"):
        unpack(_with_crc(head + b"\x80\x00" + body[24:]))
    # a string claiming more bytes than there are
    huge = head + b"\x01\x01\x00\x01" + b"\xff\xff\x03" + b"abc"
    with pytest.raises(CodecError, match="truncated"):
        unpack(_with_crc(huge))
    with pytest.raises(CodecError, match="tile"):
        unpack(_with_crc(head + b"\x01\x01" + b"\xff\x7f" + body[27:]))


def test_profile_description():
    assert container.describe_profile(0) == "cpu, oneDNN off"
    assert container.describe_profile(container.PROFILE_GPU | container.PROFILE_ONEDNN) == "gpu, oneDNN on"
