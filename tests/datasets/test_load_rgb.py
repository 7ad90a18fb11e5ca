"""load_rgb: every kind of input becomes C-contiguous (H, W, 3) uint8 RGB with a truthful conversion note,
and unreadable files become ImageLoadError naming the file."""
from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from elicbench.datasets import DatasetError, ImageLoadError, ImageRef, load_rgb, resolve_dataset

RNG = np.random.default_rng(1234)
# Values where rounding v/257 differs from truncation v>>8 (511 -> 2 not 1) and the half-way edges.
EDGE_16 = np.array([0, 128, 129, 256, 385, 386, 511, 32767, 32768, 32896, 65278, 65407, 65408, 65535], np.uint16)


def expected_8bit(v: np.ndarray) -> np.ndarray:
    return np.floor(v.astype(np.float64) / 257 + 0.5).astype(np.uint8)


def check_rgb(rgb: np.ndarray, shape: tuple[int, int]) -> None:
    assert rgb.dtype == np.uint8 and rgb.shape == (*shape, 3) and rgb.flags["C_CONTIGUOUS"]


def sixteen_bit(h: int, w: int, channels: int) -> np.ndarray:
    a = RNG.integers(0, 65536, size=(h, w, channels), dtype=np.uint16)
    a[0, : len(EDGE_16), 0] = EDGE_16
    return a


def png16(path: Path, samples: np.ndarray, color_type: int) -> Path:
    """A minimal 16-bit PNG writer; rows cycle through all five filter types (None, Sub, Up, Average, Paeth)
    so the test also covers Pillow's unfiltering of the re-decoded bytes."""
    h, w, c = samples.shape
    raw = samples.astype(">u2").reshape(h, w * c).view(np.uint8).astype(np.int64)
    bpp = 2 * c
    rows, previous = [], np.zeros(raw.shape[1], np.int64)
    for y in range(h):
        row = raw[y]
        left = np.concatenate([np.zeros(bpp, np.int64), row[:-bpp]])
        up_left = np.concatenate([np.zeros(bpp, np.int64), previous[:-bpp]])
        kind = y % 5
        if kind == 0:
            filtered = row
        elif kind == 1:
            filtered = row - left
        elif kind == 2:
            filtered = row - previous
        elif kind == 3:
            filtered = row - (left + previous) // 2
        else:
            p = left + previous - up_left
            pa, pb, pc = abs(p - left), abs(p - previous), abs(p - up_left)
            filtered = row - np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, previous, up_left))
        rows.append(bytes([kind]) + (filtered % 256).astype(np.uint8).tobytes())
        previous = row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows)))
                     + chunk(b"IEND", b""))
    return path


def test_kodak_png_is_used_as_stored(kodak_dir):
    path = kodak_dir / "kodim01.png"
    rgb, conversion = load_rgb(ImageRef("kodak", "kodim01", path))
    check_rgb(rgb, (512, 768))
    assert conversion == ""
    with Image.open(path) as im:
        assert np.array_equal(rgb, np.asarray(im))


def test_accepts_a_path_as_well_as_an_image_ref(tmp_path):
    a = RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(a).save(tmp_path / "a.png")
    assert np.array_equal(load_rgb(tmp_path / "a.png")[0], a)
    assert np.array_equal(load_rgb(str(tmp_path / "a.png"))[0], a)


def test_small_100px_image_loads(tmp_path):
    a = RNG.integers(0, 256, (100, 100, 3), dtype=np.uint8)
    Image.fromarray(a).save(tmp_path / "small.png")
    rgb, conversion = load_rgb(tmp_path / "small.png")
    check_rgb(rgb, (100, 100))
    assert np.array_equal(rgb, a) and conversion == ""


def test_grayscale_is_replicated(tmp_path):
    g = RNG.integers(0, 256, (40, 50), dtype=np.uint8)
    Image.fromarray(g).save(tmp_path / "g.png")
    rgb, conversion = load_rgb(tmp_path / "g.png")
    check_rgb(rgb, (40, 50))
    assert conversion == "gray->rgb"
    assert all(np.array_equal(rgb[:, :, c], g) for c in range(3))


def test_bilevel_is_replicated(tmp_path):
    bits = RNG.integers(0, 2, (16, 24), dtype=np.uint8).astype(bool)
    Image.fromarray(bits).save(tmp_path / "b.png")
    rgb, conversion = load_rgb(tmp_path / "b.png")
    assert conversion == "1bit->rgb"
    assert np.array_equal(rgb[:, :, 1], np.where(bits, 255, 0).astype(np.uint8))


def test_palette_is_expanded(tmp_path):
    a = RNG.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    im = Image.fromarray(a).quantize(colors=16)
    im.save(tmp_path / "p.png")
    rgb, conversion = load_rgb(tmp_path / "p.png")
    assert conversion == "palette->rgb"
    assert np.array_equal(rgb, np.asarray(im.convert("RGB")))


def test_palette_transparency_is_dropped(tmp_path):
    im = Image.fromarray(RNG.integers(0, 256, (30, 40, 3), dtype=np.uint8)).quantize(colors=8)
    im.info["transparency"] = 0
    im.save(tmp_path / "pt.png", transparency=0)
    rgb, conversion = load_rgb(tmp_path / "pt.png")
    assert conversion in ("palette->rgb(transparency dropped)", "palette->rgb(opaque transparency dropped)")
    assert np.array_equal(rgb, np.asarray(im.convert("RGB")))


def test_rgba_drops_alpha_and_keeps_colour_values(tmp_path):
    rgba = RNG.integers(0, 256, (30, 40, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    rgb, conversion = load_rgb(tmp_path / "a.png")
    check_rgb(rgb, (30, 40))
    assert conversion == "rgba->rgb(alpha dropped)"
    assert np.array_equal(rgb, rgba[:, :, :3])


def test_opaque_rgba_says_nothing_was_lost(tmp_path):
    rgba = RNG.integers(0, 256, (10, 10, 4), dtype=np.uint8)
    rgba[:, :, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert load_rgb(tmp_path / "a.png")[1] == "rgba->rgb(opaque alpha dropped)"


def test_gray_alpha(tmp_path):
    la = RNG.integers(0, 256, (12, 14, 2), dtype=np.uint8)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    rgb, conversion = load_rgb(tmp_path / "la.png")
    assert conversion == "gray+alpha->rgb(alpha dropped)"
    assert np.array_equal(rgb[:, :, 2], la[:, :, 0])


def test_16bit_gray_png_is_rounded(tmp_path):
    g = sixteen_bit(9, 20, 1)[:, :, 0]
    Image.fromarray(g).save(tmp_path / "g16.png")
    with Image.open(tmp_path / "g16.png") as im:
        assert im.mode.startswith("I;16")  # the file really is 16-bit
    rgb, conversion = load_rgb(tmp_path / "g16.png")
    assert conversion == "16bit->8bit, gray->rgb"
    assert np.array_equal(rgb[:, :, 0], expected_8bit(g)) and np.array_equal(rgb[:, :, 2], expected_8bit(g))


def test_16bit_rgb_png_is_rounded_not_truncated(tmp_path):
    a = sixteen_bit(11, 23, 3)
    path = png16(tmp_path / "rgb16.png", a, color_type=2)
    with Image.open(path) as im:  # what Pillow alone gives: the high bytes
        assert im.mode == "RGB" and np.array_equal(np.asarray(im), (a >> 8).astype(np.uint8))
    rgb, conversion = load_rgb(path)
    check_rgb(rgb, (11, 23))
    assert conversion == "16bit->8bit"
    assert np.array_equal(rgb, expected_8bit(a))
    assert rgb[0, 6, 0] == 2  # 511 / 257 = 1.99; truncation would give 1


def test_16bit_rgba_png(tmp_path):
    a = sixteen_bit(7, 20, 4)
    a[:, :, 3] = 65535
    a[0, 0, 3] = 65534  # not quite opaque: only the low byte differs
    rgb, conversion = load_rgb(png16(tmp_path / "rgba16.png", a, color_type=6))
    assert conversion == "16bit->8bit, rgba->rgb(alpha dropped)"
    assert np.array_equal(rgb, expected_8bit(a[:, :, :3]))


def test_16bit_gray_alpha_png(tmp_path):
    a = sixteen_bit(6, 20, 2)
    a[:, :, 1] = 65535
    rgb, conversion = load_rgb(png16(tmp_path / "la16.png", a, color_type=4))
    assert conversion == "16bit->8bit, gray+alpha->rgb(opaque alpha dropped)"
    assert np.array_equal(rgb[:, :, 1], expected_8bit(a[:, :, 0]))


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_16bit_rgb_tiff(tmp_path, compression):
    tifffile = pytest.importorskip("tifffile")
    a = sixteen_bit(8, 20, 3)
    tifffile.imwrite(tmp_path / "rgb16.tif", a, compression=compression)
    rgb, conversion = load_rgb(tmp_path / "rgb16.tif")
    assert conversion == "16bit->8bit"
    assert np.array_equal(rgb, expected_8bit(a))


def test_16bit_ppm_and_pgm(tmp_path):
    a = sixteen_bit(5, 20, 3)
    (tmp_path / "c.ppm").write_bytes(b"P6 20 5 65535\n" + a.astype(">u2").tobytes())
    (tmp_path / "g.pgm").write_bytes(b"P5 20 5 65535\n" + a[:, :, 0].astype(">u2").tobytes())
    rgb, conversion = load_rgb(tmp_path / "c.ppm")
    assert conversion == "16bit->8bit" and np.array_equal(rgb, expected_8bit(a))
    rgb, conversion = load_rgb(tmp_path / "g.pgm")
    assert conversion == "16bit->8bit, gray->rgb" and np.array_equal(rgb[:, :, 0], expected_8bit(a[:, :, 0]))


def test_cmyk_is_converted(tmp_path):
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "k.tif")
    rgb, conversion = load_rgb(tmp_path / "k.tif")
    assert conversion == "cmyk->rgb"
    assert tuple(rgb[0, 0]) == (255, 0, 0)


def test_exif_orientation_is_not_applied(tmp_path):
    a = RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.fromarray(a).save(tmp_path / "o.jpg", exif=exif, quality=95)
    rgb, conversion = load_rgb(tmp_path / "o.jpg")
    assert rgb.shape == (20, 30, 3) and conversion == ""


def test_first_frame_of_an_animation(tmp_path):
    frames = [Image.new("RGB", (10, 10), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    rgb, conversion = load_rgb(tmp_path / "anim.gif")
    assert conversion == "frame 1 of 2, palette->rgb"
    assert tuple(rgb[5, 5]) == (255, 0, 0)


def test_floating_point_images_are_refused(tmp_path):
    Image.fromarray(np.zeros((4, 4), np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(ImageLoadError, match=r"f\.tif: cannot read image: floating-point"):
        load_rgb(tmp_path / "f.tif")


def unreadable(tmp_path: Path, kodak_dir: Path) -> dict[str, Path]:
    files = {
        "random bytes": (tmp_path / "random.png", os.urandom(5000)),
        "empty file": (tmp_path / "empty.png", b""),
        "truncated png": (tmp_path / "truncated.png", (kodak_dir / "kodim01.png").read_bytes()[:200_000]),
        "png header only": (tmp_path / "header.png", (kodak_dir / "kodim01.png").read_bytes()[:64]),
    }
    for path, data in files.values():
        path.write_bytes(data)
    files_paths = {k: p for k, (p, _) in files.items()}
    files_paths["missing file"] = tmp_path / "missing.png"
    return files_paths


@pytest.mark.parametrize("case", ["random bytes", "empty file", "truncated png", "png header only", "missing file"])
def test_unreadable_files_raise_image_load_error_naming_the_file(tmp_path, kodak_dir, case):
    path = unreadable(tmp_path, kodak_dir)[case]
    with pytest.raises(ImageLoadError) as err:
        load_rgb(ImageRef("d", path.stem, path))
    assert str(err.value).startswith(f"{path}: cannot read image: ")
    assert len(str(err.value)) > len(f"{path}: cannot read image: ")


def test_directory_of_no_images_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError):
        resolve_dataset(str(tmp_path))
