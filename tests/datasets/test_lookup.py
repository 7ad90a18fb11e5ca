"""Finding datasets: $ELICBENCH_DATA, then the cache, named vs directory datasets, clear errors."""
from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import pytest

from elicbench.datasets import (DATASETS, DatasetError, dataset_names, describe_datasets, file_sha256, load_rgb,
                                resolve_dataset, verify_dataset)
from elicbench.datasets.checksums import read_sha256sums, shipped_sha256sums
from elicbench.datasets.locations import cache_root

KODAK_NAMES = [f"kodim{i:02d}" for i in range(1, 25)]


@pytest.fixture
def shared(data_root, monkeypatch, isolated_env) -> Path:
    """$ELICBENCH_DATA pointing at the shared datasets (kodak/ and clic/)."""
    if not (data_root / "kodak" / "kodim24.png").is_file() or not (data_root / "clic").is_dir():
        pytest.skip(f"shared datasets not found in {data_root}")
    monkeypatch.setenv("ELICBENCH_DATA", str(data_root))
    return data_root.resolve()


def link_kodak(source: Path, target: Path, skip: tuple[str, ...] = ()) -> None:
    target.mkdir(parents=True)
    for p in sorted(source.glob("kodim*.png")):
        if p.name not in skip:
            (target / p.name).symlink_to(p.resolve())


def test_names_and_registry():
    assert dataset_names() == ["clic", "kodak", "sample"]
    assert all(DATASETS.get(n).description for n in dataset_names())


def test_kodak_from_elicbench_data(shared):
    ds = resolve_dataset("kodak", download=False)
    assert [r.name for r in ds.images] == KODAK_NAMES
    assert ds.source == "$ELICBENCH_DATA/kodak" and ds.root == shared / "kodak"
    assert all(r.dataset == "kodak" and r.path == shared / "kodak" / f"{r.name}.png" for r in ds.images)
    assert ds.limit(3).images == ds.images[:3]


def test_clic_from_elicbench_data_uses_what_is_there(shared):
    ds = resolve_dataset("clic", download=False)
    files = sorted(p.name for p in (shared / "clic").glob("*.png"))
    assert len(ds.images) == len(files) == 8
    assert [r.path.name for r in ds.images] == files
    assert "alberto-montalesi-176097" in [r.name for r in ds.images]
    # the shipped list covers these 8 files: all verifiable
    assert ds.info["unverifiable"] == [] and set(ds.info["expected_sha256"]) == set(files)


def test_shipped_checksum_lists_match_the_shared_ones(shared):
    for name in ("kodak", "clic"):
        assert shipped_sha256sums(name) == read_sha256sums(shared / name / "SHA256SUMS")
    assert sorted(shipped_sha256sums("kodak")) == [f"{n}.png" for n in KODAK_NAMES]


def test_verify_hashes_every_file_against_the_shipped_list(shared):
    ds = resolve_dataset("kodak", download=False, verify=True)
    assert ds.info["sha256"] == shipped_sha256sums("kodak")


def test_cache_is_used_when_elicbench_data_lacks_the_dataset(shared, isolated_env, tmp_path, monkeypatch):
    empty_data = tmp_path / "data"
    empty_data.mkdir()
    monkeypatch.setenv("ELICBENCH_DATA", str(empty_data))
    link_kodak(shared / "kodak", isolated_env / "kodak")
    ds = resolve_dataset("kodak", download=False)
    assert ds.source == "cache" and ds.root == isolated_env / "kodak"
    assert [r.name for r in ds.images] == KODAK_NAMES


def test_elicbench_data_wins_over_the_cache(shared, isolated_env):
    link_kodak(shared / "kodak", isolated_env / "kodak")
    assert resolve_dataset("kodak", download=False).source == "$ELICBENCH_DATA/kodak"


def test_cache_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ELICBENCH_CACHE", str(tmp_path / "c1"))
    assert cache_root() == tmp_path / "c1"
    monkeypatch.delenv("ELICBENCH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "elicbench"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "elicbench"


def test_incomplete_elicbench_data_names_the_missing_files(shared, isolated_env, tmp_path, monkeypatch):
    link_kodak(shared / "kodak", tmp_path / "data" / "kodak", skip=("kodim03.png", "kodim17.png"))
    monkeypatch.setenv("ELICBENCH_DATA", str(tmp_path / "data"))
    with pytest.raises(DatasetError, match=r"incomplete: missing kodim03\.png, kodim17\.png"):
        resolve_dataset("kodak")  # even with download allowed: the user's own copy is broken


def test_incomplete_cache_without_download_names_the_missing_file(shared, isolated_env, monkeypatch):
    monkeypatch.delenv("ELICBENCH_DATA")
    link_kodak(shared / "kodak", isolated_env / "kodak", skip=("kodim24.png",))
    with pytest.raises(DatasetError, match=r"missing kodim24\.png; complete it with `elicbench fetch kodak`") as err:
        resolve_dataset("kodak", download=False)
    # ... and what works offline: copying the files by hand (from where), or ELICBENCH_DATA.
    assert "https://r0k.us/graphics/kodak/kodak/" in str(err.value) and "ELICBENCH_DATA=DIR" in str(err.value)


def test_missing_everywhere_without_download_says_how_to_fetch(isolated_env):
    for name in ("kodak", "clic"):
        with pytest.raises(DatasetError, match=rf"{name}' not found.*`elicbench fetch {name}`"):
            resolve_dataset(name, download=False)


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_sample_works_offline(isolated_env, no_network):
    ds = resolve_dataset("sample")
    assert [r.name for r in ds.images] == ["astronaut", "chelsea", "coffee", "motorcycle_left"]
    assert ds.source.startswith("scikit-image 0.26")
    for ref in ds.images:
        rgb, conversion = load_rgb(ref)
        assert rgb.ndim == 3 and min(rgb.shape[:2]) >= 161 and conversion == ""
        assert rgb.std(axis=2).mean() > 5, f"{ref.name} should be a colour photograph"
    assert not isolated_env.exists(), "the sample dataset must not create the cache"


def test_describe_reports_where_each_dataset_is(shared, isolated_env):
    rows = {row["name"]: row for row in describe_datasets()}
    assert set(rows) == {"clic", "kodak", "sample"}
    assert rows["kodak"]["present"] and rows["kodak"]["location"] == str(shared / "kodak")
    assert rows["kodak"]["origin"].startswith("download: https://")
    assert rows["sample"]["present"] and "no download" in rows["sample"]["origin"]
    assert all(row["description"] for row in rows.values())


def test_describe_when_nothing_is_local(isolated_env):
    rows = {row["name"]: row for row in describe_datasets()}
    assert not rows["kodak"]["present"] and rows["kodak"]["location"] is None
    assert not rows["clic"]["present"] and "professional_valid_2020.zip" in rows["clic"]["origin"]


# --- directories ---------------------------------------------------------------------------------

def test_directory_dataset_lists_images_sorted_by_name(tmp_path):
    for name in ("b.png", "a.JPG", "c.tiff", "d.webp", "notes.txt", ".hidden.png"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.png").write_bytes(b"x")
    ds = resolve_dataset(str(tmp_path))
    assert [r.path.name for r in ds.images] == ["a.JPG", "b.png", "c.tiff", "d.webp"]
    assert [r.name for r in ds.images] == ["a", "b", "c", "d"]
    assert ds.name == str(tmp_path) and ds.root == tmp_path.resolve()


def test_directory_images_sharing_a_stem_keep_their_suffix(tmp_path):
    for name in ("x.png", "x.jpg", "y.png"):
        (tmp_path / name).write_bytes(b"x")
    assert [r.name for r in resolve_dataset(str(tmp_path)).images] == ["x.jpg", "x.png", "y"]


def test_empty_directory_is_an_error(tmp_path):
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(DatasetError, match="holds no images"):
        resolve_dataset(str(tmp_path))


def test_missing_directory_is_an_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        resolve_dataset(str(tmp_path / "nope"))


def test_unknown_name_lists_the_known_ones(isolated_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetError, match=r"unknown dataset 'kodakk'.*clic, kodak, sample.*Did you mean 'kodak'"):
        resolve_dataset("kodakk")


def test_a_file_is_not_a_dataset(tmp_path):
    f = tmp_path / "image.png"
    f.write_bytes(b"x")
    with pytest.raises(DatasetError, match="is a file, not a directory"):
        resolve_dataset(str(f))


def test_file_sha256_streams_large_files(tmp_path):
    data = os.urandom(3 * (1 << 20) + 17)
    f = tmp_path / "big.bin"
    f.write_bytes(data)
    assert file_sha256(f) == hashlib.sha256(data).hexdigest()
    assert file_sha256(str(f)) == hashlib.sha256(data).hexdigest()


def test_verify_reports_the_tampered_file(shared, isolated_env, tmp_path, monkeypatch):
    copy = tmp_path / "data" / "kodak"
    link_kodak(shared / "kodak", copy, skip=("kodim07.png",))
    (copy / "kodim07.png").write_bytes((shared / "kodak" / "kodim08.png").read_bytes())
    monkeypatch.setenv("ELICBENCH_DATA", str(tmp_path / "data"))
    ds = resolve_dataset("kodak", download=False)  # presence only: cheap, does not notice
    with pytest.raises(DatasetError, match=r"kodim07\.png: expected sha256 b77d3f00\w+, got ba23983c"):
        verify_dataset(ds)


def test_relative_paths_become_absolute(shared, tmp_path, monkeypatch):
    """Image paths must not depend on the working directory (worker processes may have another)."""
    monkeypatch.chdir(shared.parent)
    monkeypatch.setenv("ELICBENCH_DATA", shared.name)
    ds = resolve_dataset("kodak", download=False)
    assert ds.root == shared / "kodak" and all(r.path.is_absolute() for r in ds.images)
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.png").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    ds = resolve_dataset("imgs")
    assert ds.name == "imgs" and ds.images[0].path == (tmp_path / "imgs" / "a.png").resolve()
