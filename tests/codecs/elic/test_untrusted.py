"""ELIC files are untrusted input (issue 13, item 3): crafted files behind a valid CRC are refused
with a CodecError that says what is wrong, quickly and in bounded memory; valid files decode
exactly as before. The input image is synthetic data bundled with scikit-image (no Kodak needed)."""
from __future__ import annotations

import dataclasses
import os
import threading
import time

import numpy as np
import pytest

from elicbench.codecs.base import CodecError
from elicbench.codecs.elic import container
from elicbench.codecs.elic.runner import GUARD_ZERO_BYTES, guard_string, max_string_bytes

#: Wall time a crafted file may take to be refused once the decoder is traced (measured: at most
#: about 0.03 s; the margin is for a loaded CI machine).
REFUSE_SECONDS = 5.0


def astronaut_crop() -> np.ndarray:
    """128x192 of scikit-image's astronaut: with the session's random tiny model, strings 1 and 9
    of its file set to 0xFF sent tensorflow-compression's range decoder into an endless loop."""
    from skimage.data import astronaut

    return np.ascontiguousarray(astronaut()[100:228, 150:342])


@pytest.fixture(scope="module")
def real_file(elic_runner):
    data = elic_runner.compress(astronaut_crop())
    elic_runner.decompress(data)  # traces the decoder, so that timings below are of the work alone
    return data


@pytest.fixture(scope="module")
def real_image(elic_runner, real_file):
    return elic_runner.decompress(real_file)


def crafted(data: bytes, **fields) -> bytes:
    """``data`` with header fields or strings replaced, packed with a correct CRC."""
    return container.pack(dataclasses.replace(container.unpack(data), **fields))


def refused(decode, data, within, seconds=REFUSE_SECONDS) -> tuple[str, float]:
    """(message, seconds) of the CodecError that ``decode(data)`` must raise within ``seconds``
    (a hang fails the test instead of blocking it)."""
    def attempt():
        start = time.perf_counter()
        try:
            decode(data)
        except CodecError as exc:
            return str(exc), time.perf_counter() - start
        return None, time.perf_counter() - start

    message, took = within(seconds, attempt)
    assert message is not None, "a crafted file was decoded"
    return message, took


class PeakRSS:
    """Peak resident memory of this process while the block runs, sampled every 2 ms (Linux)."""

    def __init__(self):
        self.peak = self.start = self._rss()
        self._stop = threading.Event()

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self):
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self._rss())

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1e6


linux_only = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="memory sampling needs /proc")


# --- the crafted files of the issue -------------------------------------------------------------
def test_strings_of_0xff_are_refused_not_decoded_forever(elic_runner, real_file, elic_within):
    """Every string 0xFF, and each string alone (strings 1 and 9 alone used to hang in the range
    decoder's Elias-gamma loop at 100 % CPU)."""
    stream = container.unpack(real_file)
    variants = {"all": tuple(b"\xff" * len(s) for s in stream.strings)}
    for i, s in enumerate(stream.strings):
        variants[i] = stream.strings[:i] + (b"\xff" * len(s),) + stream.strings[i + 1:]
    for name, strings in variants.items():
        message, took = refused(elic_runner.decompress, crafted(real_file, strings=strings), elic_within)
        assert "ELIC file corrupt" in message and "do not encode back" in message, (name, message)
        assert took < REFUSE_SECONDS


def test_strings_of_zeros_are_refused(elic_runner, real_file, elic_within):
    stream = container.unpack(real_file)
    for i, s in enumerate(stream.strings):
        strings = stream.strings[:i] + (bytes(len(s)),) + stream.strings[i + 1:]
        message, _ = refused(elic_runner.decompress, crafted(real_file, strings=strings), elic_within)
        assert "ELIC file corrupt" in message


def test_all_strings_empty_is_refused_before_decoding(elic_runner, real_file, elic_within):
    """It used to decode to an image without any error."""
    empty = crafted(real_file, strings=tuple(b"" for _ in container.unpack(real_file).strings))
    message, took = refused(elic_runner.decompress, empty, elic_within)
    assert "string 0 (z) is empty" in message and "192x128" in message
    assert took < 0.5
    # one empty y string among real ones: also refused before decoding
    stream = container.unpack(real_file)
    one = crafted(real_file, strings=stream.strings[:5] + (b"",) + stream.strings[6:])
    message, _ = refused(elic_runner.decompress, one, elic_within)
    assert "string 5 (anchors of group 4) is empty" in message


@linux_only
def test_header_claiming_4096x4096_is_refused_in_bounded_memory(elic_model_dir, elic_runner, real_file,
                                                                 elic_within):
    """It used to decode to a 4096x4096 image, peaking at 4.6 GB."""
    from elicbench.codecs import get_codec

    huge = crafted(real_file, height=4096, width=4096)
    codec = get_codec("elic")(models=str(elic_model_dir))  # max_megapixels 16: 16.8 MP is above
    with PeakRSS() as memory:
        message, took = refused(codec.decode, huge, elic_within)
        assert "4096x4096" in message and "max_megapixels=16" in message and took < 0.5
        # without a size limit, the strings are refused: far too short for 4096x4096
        message, took = refused(elic_runner.decompress, huge, elic_within)
        assert "ELIC file corrupt" in message and "4096x4096" in message and took < 0.5
        # ... and with a limit that allows it, as well
        message, _ = refused(get_codec("elic")(models=str(elic_model_dir), max_megapixels=20).decode, huge,
                             elic_within)
        assert "ELIC file corrupt" in message
    assert memory.growth_mb < 300


@linux_only
def test_header_claiming_8192x8192_in_tiles_is_refused(elic_model_dir, elic_runner, real_file, elic_within):
    """It used to run for more than 240 s."""
    from elicbench.codecs import get_codec

    huge = crafted(real_file, height=8192, width=8192, tile=1024)
    codec = get_codec("elic")(models=str(elic_model_dir))
    with PeakRSS() as memory:
        message, took = refused(codec.decode, huge, elic_within)
        assert "8192x8192" in message and "max_megapixels" in message and took < 0.5
        message, took = refused(get_codec("elic")(models=str(elic_model_dir), max_megapixels=0).decode, huge,
                                elic_within)
        assert "ELIC file corrupt" in message and took < 0.5
    assert memory.growth_mb < 300


# --- the other header checks --------------------------------------------------------------------
def test_tile_that_no_encoder_records_is_refused(elic_runner, real_file, elic_within):
    """The encoder records tile 0 when the padded image is one tile."""
    for tile in (192, 256, 64 * 512):
        message, _ = refused(elic_runner.decompress, crafted(real_file, tile=tile), elic_within)
        assert f"tile {tile}" in message
    # a tile smaller than the image is what an encoder writes: it decodes (to the same pixels up to
    # the float rounding of the tiled synthesis)
    tiled = elic_runner.decompress(crafted(real_file, tile=64)).astype(int)
    assert np.abs(tiled - elic_runner.decompress(real_file)).max() <= 1


def test_string_lengths_are_checked_against_the_symbols(elic_runner, real_file, elic_within):
    stream = container.unpack(real_file)
    counts = elic_runner.symbol_counts(128, 192)
    assert sum(counts) == elic_runner.latent_elements(128, 192)
    # longer than its symbols can take
    too_long = bytes(max_string_bytes(counts[1]) + 1)
    message, took = refused(elic_runner.decompress,
                            crafted(real_file, strings=stream.strings[:1] + (too_long,) + stream.strings[2:]),
                            elic_within)
    assert "string 1 (anchors of group 0)" in message and "more than" in message and took < 0.5
    # far too short for the symbols of a bigger image (z costs at least a few bits per symbol here)
    message, took = refused(elic_runner.decompress, crafted(real_file, height=2048, width=2048), elic_within)
    assert "too few" in message and "2048x2048" in message and took < 0.5
    # strings swapped and a string count that does not fit the model
    swapped = crafted(real_file, strings=(stream.strings[1], stream.strings[0]) + stream.strings[2:])
    assert "ELIC file corrupt" in refused(elic_runner.decompress, swapped, elic_within)[0]
    fewer = crafted(real_file, strings=stream.strings[:-1])
    assert "strings" in refused(elic_runner.decompress, fewer, elic_within)[0]


def test_decode_refuses_images_above_its_limit(elic_runner, real_file, elic_within):
    message, _ = refused(lambda d: elic_runner.decompress(d, max_pixels=128 * 192 - 1), real_file, elic_within)
    assert "192x128" in message and "above the limit" in message
    assert elic_runner.decompress(real_file, max_pixels=128 * 192).shape == (128, 192, 3)


# --- the guard keeps valid files exact ----------------------------------------------------------
def test_guarded_decoding_equals_the_model_decoder(elic_runner):
    """The runner decodes with its own guarded, verifying functions; the pixels must be those of
    ``ELICModel.decompress_tiled`` (the model's unguarded decoder) bit for bit, tiled or not."""
    from skimage.data import astronaut, coffee

    model = elic_runner.model
    images = [astronaut_crop(), np.ascontiguousarray(coffee()[:333, :517]), np.full((1, 3, 3), 77, np.uint8),
              np.ascontiguousarray(astronaut()[::2, ::3])]
    for image in images:
        for tile in (0, 128):
            data = elic_runner.compress(image, tile=tile)
            stream = container.unpack(data)
            expected = model.coder.decompress_tiled(stream.height, stream.width, stream.strings, stream.tile)
            np.testing.assert_array_equal(elic_runner.decompress(data), expected)


def test_guard_layout():
    guarded = guard_string(b"abc", 10)
    assert guarded[:3] == b"abc" and guarded[3:3 + GUARD_ZERO_BYTES] == bytes(GUARD_ZERO_BYTES)
    assert set(guarded[3 + GUARD_ZERO_BYTES:]) == {0xFF} and len(guarded) - 3 - GUARD_ZERO_BYTES >= 100


# --- fuzzing ------------------------------------------------------------------------------------
FUZZ_CASES = 400
FUZZ_SIDES = (1, 2, 63, 64, 65, 127, 128, 129, 192, 200, 1000, 4095, 4096, 8192, 16384, container.MAX_SIDE)


def _with_crc(body: bytes) -> bytes:
    import struct
    import zlib

    return body + struct.pack("<I", zlib.crc32(body))


def _mutate(data: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    """One seeded mutation of a real ELIC file: (kind, bytes)."""
    stream = container.unpack(data)
    body = data[:-4]
    strings = list(stream.strings)
    kind = rng.choice(["flip", "flip-nocrc", "truncate", "size", "tile", "profile-id-version", "string",
                       "string-set", "huge"], p=[0.14, 0.04, 0.06, 0.12, 0.08, 0.04, 0.3, 0.12, 0.1])
    if kind == "flip":
        pos = int(rng.integers(0, len(body)))
        return kind, _with_crc(body[:pos] + bytes([body[pos] ^ (1 << int(rng.integers(0, 8)))]) + body[pos + 1:])
    if kind == "flip-nocrc":
        pos = int(rng.integers(0, len(data)))
        return kind, data[:pos] + bytes([data[pos] ^ 0x10]) + data[pos + 1:]
    if kind == "truncate":
        cut = int(rng.integers(0, len(body)))
        return kind, _with_crc(body[:cut]) if rng.random() < 0.7 else data[:cut]
    if kind == "size":
        height, width = (int(rng.choice(FUZZ_SIDES)) for _ in range(2))
        if height * width > container.MAX_PIXELS:
            width = container.MAX_PIXELS // height
        return kind, crafted(data, height=height, width=width)
    if kind == "tile":
        return kind, crafted(data, tile=int(rng.choice([0, 64, 128, 192, 256, 1024, 64 * container.MAX_TILE_BLOCKS])))
    if kind == "profile-id-version":
        which = int(rng.integers(0, 3))
        if which == 0:
            return kind, crafted(data, profile=int(rng.integers(0, 4)))
        if which == 1:
            model_id = bytearray(stream.model_id)
            model_id[int(rng.integers(0, 16))] ^= 1
            return kind, crafted(data, model_id=bytes(model_id))
        return kind, _with_crc(body[:4] + bytes([int(rng.integers(0, 4))]) + body[5:])  # version 0..3
    if kind == "string":
        i, j = (int(v) for v in rng.integers(0, len(strings), 2))
        s = strings[i]
        edit = int(rng.integers(0, 9))
        if edit == 0:
            strings[i], strings[j] = strings[j], strings[i]
        elif edit == 1:
            strings[i] = b"\xff" * len(s)
        elif edit == 2:
            strings[i] = bytes(len(s))
        elif edit == 3:
            strings[i] = b""
        elif edit == 4:
            strings[i] = rng.integers(0, 256, len(s), dtype=np.uint8).tobytes()
        elif edit == 5 and s:
            pos = int(rng.integers(0, len(s)))
            strings[i] = s[:pos] + bytes([s[pos] ^ (1 << int(rng.integers(0, 8)))]) + s[pos + 1:]
        elif edit == 6:
            strings[i] = s[:int(rng.integers(0, len(s) + 1))]
        elif edit == 7:
            strings[i] = s + rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
        else:
            strings.insert(j, s) if rng.random() < 0.5 else strings.pop(j)
        if not 1 <= len(strings) <= container.MAX_STRINGS:
            strings = strings[:1] or [b""]
        return kind, crafted(data, strings=tuple(strings))
    if kind == "string-set":
        fill = [b"\xff", b"\x00", b"\x80", b"\x55"][int(rng.integers(0, 4))]
        return kind, crafted(data, strings=tuple(fill * len(s) for s in strings))
    height, width, tile = [(4096, 4096, 0), (8192, 8192, 1024), (4000, 4000, 64), (container.MAX_SIDE, 4096, 1024),
                           (3000, 5000, 256)][int(rng.integers(0, 5))]
    return kind, crafted(data, height=height, width=width, tile=tile)


@linux_only
def test_fuzzed_files_give_clean_errors_or_correct_decodes(elic_model_dir, elic_runner, real_file, real_image,
                                                           elic_within):
    """Seeded mutations of a real file (header edits with a recomputed CRC, byte flips, truncations,
    string swaps and edits, 0xFF/0x00 strings, huge sizes) through the codec: each gives a
    CodecError within 10 s or decodes correctly; memory stays within 300 MB of the start."""
    from elicbench.codecs import get_codec

    codec = get_codec("elic")(models=str(elic_model_dir))
    tiled = elic_runner.compress(astronaut_crop(), tile=64)
    tiled_image = codec.decode(tiled)
    bases = [(real_file, real_image), (tiled, tiled_image)]
    rng = np.random.default_rng(20240613)
    outcomes: dict[str, int] = {}
    start = time.perf_counter()
    with PeakRSS() as memory:
        for case in range(FUZZ_CASES):
            base, base_image = bases[case % 2]
            kind, data = _mutate(base, rng)

            def attempt():
                try:
                    return codec.decode(data)
                except CodecError as exc:
                    assert str(exc), "a CodecError must say what is wrong"
                    return exc

            result = elic_within(10, attempt)
            if isinstance(result, CodecError):
                message = str(result)
                key = ("decoded data" if "encode back" in message or "beyond" in message
                       else "CRC" if "CRC" in message else "header/strings")
                outcomes[key] = outcomes.get(key, 0) + 1
                continue
            # Accepted: it must be exactly what the file says. Its strings were shown to be valid
            # encodings, so tensorflow-compression's own decoder (unguarded, with its sanity
            # check) terminates on them and must give the same pixels.
            stream, original = container.unpack(data), container.unpack(base)
            assert result.dtype == np.uint8 and result.shape == (stream.height, stream.width, 3), kind
            expected = elic_within(10, elic_runner.model.coder.decompress_tiled, stream.height, stream.width,
                                   stream.strings, stream.tile)
            np.testing.assert_array_equal(result, expected, err_msg=kind)
            if (stream.height, stream.width, stream.strings, stream.tile) == \
                    (original.height, original.width, original.strings, original.tile):
                np.testing.assert_array_equal(result, base_image, err_msg=kind)
            outcomes["decoded"] = outcomes.get("decoded", 0) + 1
    took = time.perf_counter() - start
    print(f"\n{FUZZ_CASES} fuzzed files in {took:.1f} s: {outcomes}; peak RSS +{memory.growth_mb:.0f} MB")
    assert sum(outcomes.values()) == FUZZ_CASES
    # the fuzzing reaches the range decoder, not only the header checks
    assert outcomes.get("decoded data", 0) >= 40 and outcomes.get("header/strings", 0) >= 40
    assert memory.growth_mb < 300
