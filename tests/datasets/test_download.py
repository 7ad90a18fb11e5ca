"""Downloads against a local HTTP server: good file, wrong bytes, truncated, interrupted then retried,
HTTP errors; hosts that cannot be reached (unresolvable name, closed port, silent listener) fail fast;
Kodak and CLIC-like fetches into the cache; archives with unsafe members refused."""
from __future__ import annotations

import hashlib
import io
import logging
import os
import socket
import stat
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from elicbench.datasets import DatasetError, fetch_dataset, file_sha256, resolve_dataset
from elicbench.datasets.archive import safe_extract_zip
from elicbench.datasets.clic import CLIC_ARCHIVE_SHA256, ClicDataset
from elicbench.datasets import download
from elicbench.datasets.download import (ChecksumMismatchError, DownloadError, HostUnreachableError, check_url,
                                         download_file)
from elicbench.datasets.kodak import KodakDataset


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


BODY = os.urandom(300_000)


# --- download_file -------------------------------------------------------------------------------

def test_good_file_is_downloaded_and_verified(server, isolated_env, tmp_path):
    url = server.add("/f.bin", BODY)
    dest = download_file(url, tmp_path / "out" / "f.bin", sha256=sha(BODY), size=len(BODY), progress=False)
    assert dest.read_bytes() == BODY
    assert leftovers(dest.parent) == []


def test_wrong_bytes_raise_checksum_mismatch_naming_file_and_hashes(server, isolated_env, tmp_path):
    url = server.add("/f.bin", BODY)
    wanted = sha(b"something else")
    with pytest.raises(ChecksumMismatchError) as err:
        download_file(url, tmp_path / "f.bin", sha256=wanted, progress=False)
    message = str(err.value)
    assert "f.bin" in message and wanted in message and sha(BODY) in message
    assert not (tmp_path / "f.bin").exists()
    assert leftovers(tmp_path) == []
    assert server.hits("/f.bin") == 1, "a checksum mismatch must not be retried"


def test_truncated_transfer_is_retried_then_fails_leaving_no_file(server, isolated_env, tmp_path):
    url = server.add("/f.bin", BODY, mode="truncate")
    with pytest.raises(DownloadError, match=r"received 150000 of 300000 bytes"):
        download_file(url, tmp_path / "f.bin", sha256=sha(BODY), progress=False)
    assert server.hits("/f.bin") == 3  # first try + RETRIES (2, set by isolated_env)
    assert not (tmp_path / "f.bin").exists()
    assert leftovers(tmp_path) == []


def test_failed_download_keeps_an_existing_destination_intact(server, isolated_env, tmp_path):
    dest = tmp_path / "f.bin"
    dest.write_bytes(b"old complete file")
    url = server.add("/f.bin", BODY, mode="truncate")
    with pytest.raises(DownloadError):
        download_file(url, dest, progress=False)
    assert dest.read_bytes() == b"old complete file"
    assert leftovers(tmp_path) == []


def test_interrupted_transfer_is_retried_and_succeeds(server, isolated_env, tmp_path):
    url = server.add("/f.bin", BODY, mode="interrupt_first")
    dest = download_file(url, tmp_path / "f.bin", sha256=sha(BODY), progress=False)
    assert dest.read_bytes() == BODY
    assert server.hits("/f.bin") == 2


def test_transient_http_status_is_retried(server, isolated_env, tmp_path):
    url = server.add("/f.bin", BODY, mode="status_first", status=503, failures=2)
    assert download_file(url, tmp_path / "f.bin", progress=False).read_bytes() == BODY
    assert server.hits("/f.bin") == 3


def test_not_found_fails_at_once(server, isolated_env, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_file(server.base_url + "/missing.bin", tmp_path / "m.bin", progress=False)
    assert server.hits("/missing.bin") == 1
    assert list(tmp_path.iterdir()) == []


def test_announced_size_must_match_expected_size(server, isolated_env, tmp_path):
    url = server.add("/f.bin", BODY)
    with pytest.raises(DownloadError, match=r"announces 300000 bytes.*expected 12345"):
        download_file(url, tmp_path / "f.bin", size=12345, progress=False)
    assert server.hits("/f.bin") == 1


@pytest.mark.parametrize("url", ["http://example.com/kodim01.png", "ftp://127.0.0.1/x", "file:///etc/passwd"])
def test_insecure_urls_are_refused(url):
    with pytest.raises(DownloadError, match="only https"):
        check_url(url)


def test_https_and_loopback_http_are_allowed():
    check_url("https://r0k.us/graphics/kodak/kodak/kodim01.png")
    check_url("http://127.0.0.1:8000/x")
    check_url("http://localhost/x")


# --- Kodak into the cache ------------------------------------------------------------------------

@pytest.fixture
def kodak_server(server, data_root):
    """The real 24 Kodak files (from $ELICBENCH_DATA) served under /kodak/."""
    source = data_root.resolve() / "kodak"
    if not (source / "kodim24.png").is_file():
        pytest.skip(f"Kodak images not found in {source}")
    for i in range(1, 25):
        name = f"kodim{i:02d}.png"
        server.add(f"/kodak/{name}", (source / name).read_bytes())
    return server


def test_kodak_fetch_verifies_every_file_and_second_fetch_is_a_noop(kodak_server, isolated_env, monkeypatch):
    monkeypatch.setenv("ELICBENCH_KODAK_URL", kodak_server.base_url + "/kodak/")
    root = fetch_dataset("kodak", progress=False)
    assert root == isolated_env / "kodak"
    assert sorted(p.name for p in root.iterdir()) == [f"kodim{i:02d}.png" for i in range(1, 25)]
    requests_after_first = len(kodak_server.requests)
    assert requests_after_first == 24

    assert fetch_dataset("kodak", progress=False) == root
    assert len(kodak_server.requests) == requests_after_first, "a complete cache must not be downloaded again"

    ds = resolve_dataset("kodak", download=False, verify=True)
    assert ds.source == "cache" and len(ds.images) == 24
    assert set(ds.info["sha256"]) == {f"kodim{i:02d}.png" for i in range(1, 25)}


def test_kodak_wrong_file_is_refused_and_a_later_fetch_completes_the_cache(kodak_server, isolated_env, monkeypatch):
    good = kodak_server.routes["/kodak/kodim05.png"].body
    kodak_server.routes["/kodak/kodim05.png"].body = kodak_server.routes["/kodak/kodim06.png"].body
    monkeypatch.setenv("ELICBENCH_KODAK_URL", kodak_server.base_url + "/kodak")
    with pytest.raises(DatasetError) as err:
        fetch_dataset("kodak", progress=False)
    message = str(err.value)
    expected = KodakDataset().sha256["kodim05.png"]
    assert "kodim05.png" in message and expected in message and sha(kodak_server.routes["/kodak/kodim06.png"].body) in message
    cache = isolated_env / "kodak"
    assert not (cache / "kodim05.png").exists()
    assert (cache / "kodim04.png").is_file() and leftovers(cache) == []

    with pytest.raises(DatasetError, match="missing kodim05.png"):
        resolve_dataset("kodak", download=False)

    kodak_server.routes["/kodak/kodim05.png"].body = good
    kodak_server.requests.clear()
    ds = resolve_dataset("kodak", progress=False)  # download=True completes the partial cache
    assert kodak_server.requests == ["/kodak/kodim05.png"]
    assert len(ds.images) == 24 and file_sha256(cache / "kodim05.png") == expected


def test_kodak_falls_back_to_the_next_host(kodak_server, isolated_env):
    for i in range(1, 25):
        kodak_server.add(f"/bad/kodim{i:02d}.png", b"not a kodak image")
    dataset = KodakDataset(base_urls=[kodak_server.base_url + "/bad", kodak_server.base_url + "/kodak"])
    root = dataset.fetch(progress=False)
    assert len(list(root.glob("kodim*.png"))) == 24
    assert kodak_server.hits("/bad/kodim01.png") == 1 and kodak_server.hits("/kodak/kodim01.png") == 1


# --- CLIC-like archives --------------------------------------------------------------------------

def make_zip(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, data)
        for name, link_target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, link_target)
    return buffer.getvalue()


def clic_like_zip() -> tuple[bytes, dict[str, bytes]]:
    images = {"a.png": os.urandom(1000), "b.png": os.urandom(2000)}
    archive = make_zip({
        "valid/": b"",
        "valid/a.png": images["a.png"],
        "valid/b.png": images["b.png"],
        "valid/readme.txt": b"not an image",
        "__MACOSX/valid/._a.png": b"resource fork",
    })
    return archive, images


def test_clic_archive_is_verified_extracted_flat_and_used_from_the_cache(server, isolated_env):
    archive, images = clic_like_zip()
    url = server.add("/professional_valid_2020.zip", archive)
    clic = ClicDataset(archive_url=url, archive_sha256=sha(archive), archive_size=len(archive))
    root = clic.fetch(progress=False)
    assert root == isolated_env / "clic"
    assert sorted(p.name for p in root.iterdir()) == ["SHA256SUMS", "a.png", "b.png"]
    assert (root / "a.png").read_bytes() == images["a.png"]
    assert not (isolated_env / "downloads").exists(), "the archive is removed, and its empty folder"
    assert [p.name for p in isolated_env.iterdir() if p.name.startswith(".")] == [], "no staging dirs left"

    assert clic.fetch(progress=False) == root and server.hits("/professional_valid_2020.zip") == 1

    ds = resolve_dataset("clic", download=False, verify=True)
    assert [r.name for r in ds.images] == ["a", "b"] and ds.source == "cache"
    assert ds.info["expected_sha256"] == {"a.png": sha(images["a.png"]), "b.png": sha(images["b.png"])}

    (root / "b.png").write_bytes(b"tampered")
    with pytest.raises(DatasetError, match=r"b\.png: expected sha256 " + sha(images["b.png"])):
        resolve_dataset("clic", download=False, verify=True)


def test_clic_force_refetch_replaces_the_directory(server, isolated_env):
    archive, _ = clic_like_zip()
    url = server.add("/clic.zip", archive)
    clic = ClicDataset(archive_url=url, archive_sha256=sha(archive), archive_size=None)
    root = clic.fetch(progress=False)
    (root / "stale.png").write_bytes(b"x")
    assert clic.fetch(force=True, progress=False) == root
    assert not (root / "stale.png").exists() and (root / "a.png").is_file()
    assert server.hits("/clic.zip") == 2


def test_clic_mirror_must_match_the_official_archive_hash(server, isolated_env, monkeypatch):
    archive, _ = clic_like_zip()
    monkeypatch.setenv("ELICBENCH_CLIC_URL", server.add("/mirror/professional_valid_2020.zip", archive))
    clic = ClicDataset(archive_size=None)
    with pytest.raises(ChecksumMismatchError) as err:
        clic.fetch(progress=False)
    assert CLIC_ARCHIVE_SHA256 in str(err.value) and sha(archive) in str(err.value)
    assert not (isolated_env / "clic").exists()
    assert not (isolated_env / "downloads").exists(), "no part file, and no empty folder left"


def test_clic_fetch_with_the_default_size_refuses_a_wrong_sized_mirror(server, isolated_env, monkeypatch):
    archive, _ = clic_like_zip()
    monkeypatch.setenv("ELICBENCH_CLIC_URL", server.add("/professional_valid_2020.zip", archive))
    with pytest.raises(DownloadError, match="expected 134834429"):
        fetch_dataset("clic", progress=False)
    assert not (isolated_env / "clic").exists()


# kind -> (regular members, symlink members, the reason the refusal must give)
UNSAFE_ARCHIVES = {
    "parent traversal": ({"valid/a.png": b"ok", "../evil.png": b"evil"}, None, "'..' path component"),
    "nested traversal": ({"valid/../../evil.png": b"evil"}, None, "'..' path component"),
    "backslash traversal": ({"valid\\..\\..\\evil.png": b"evil"}, None, "'..' path component"),
    "absolute path": ({"valid/a.png": b"ok", "{abs}": b"evil"}, None, "absolute path"),
    "symlink": ({"valid/a.png": b"ok"}, {"valid/evil.png": "/etc/passwd"}, "symbolic link"),
}


def build_unsafe(kind: str, tmp_path: Path) -> tuple[bytes, Path]:
    members, links, _ = UNSAFE_ARCHIVES[kind]
    absolute = tmp_path / "abs_evil.png"
    members = {name.replace("{abs}", str(absolute)): data for name, data in members.items()}
    return make_zip(members, links), absolute


@pytest.mark.parametrize("kind", sorted(UNSAFE_ARCHIVES))
def test_unsafe_archive_is_refused_and_nothing_is_written(kind, tmp_path):
    data, absolute = build_unsafe(kind, tmp_path)
    archive = tmp_path / "a.zip"
    archive.write_bytes(data)
    target = tmp_path / "deep" / "target"
    target.mkdir(parents=True)
    with pytest.raises(DatasetError, match="refusing to extract") as err:
        safe_extract_zip(archive, target)
    assert f"({UNSAFE_ARCHIVES[kind][2]})" in str(err.value)
    assert list(target.iterdir()) == []
    assert not (tmp_path / "deep" / "evil.png").exists() and not (tmp_path / "evil.png").exists()
    assert not absolute.exists()


@pytest.mark.parametrize("kind", sorted(UNSAFE_ARCHIVES))
def test_unsafe_clic_archive_leaves_no_dataset_behind(kind, server, isolated_env, tmp_path):
    data, absolute = build_unsafe(kind, tmp_path)
    url = server.add("/clic.zip", data)
    with pytest.raises(DatasetError, match="refusing to extract"):
        ClicDataset(archive_url=url, archive_sha256=sha(data), archive_size=len(data)).fetch(progress=False)
    assert not (isolated_env / "clic").exists()
    assert not absolute.exists() and not (isolated_env / "evil.png").exists()
    assert [p.name for p in isolated_env.iterdir() if p.name.startswith(".")] == []


def test_safe_archive_extracts_into_subdirectories(tmp_path):
    archive = tmp_path / "ok.zip"
    archive.write_bytes(make_zip({"top/a.png": b"a", "top/sub/b.png": b"b"}))
    target = tmp_path / "t"
    target.mkdir()
    written = safe_extract_zip(archive, target)
    assert [p.relative_to(target).as_posix() for p in written] == ["top/a.png", "top/sub/b.png"]
    assert (target / "top" / "sub" / "b.png").read_bytes() == b"b"


def test_corrupt_archive_is_a_dataset_error(tmp_path):
    archive = tmp_path / "bad.zip"
    archive.write_bytes(b"PK\x03\x04 definitely not a zip")
    target = tmp_path / "t"
    target.mkdir()
    with pytest.raises(DatasetError, match="not a readable zip"):
        safe_extract_zip(archive, target)



def test_progress_bar_goes_to_stderr(server, isolated_env, tmp_path, capsys):
    url = server.add("/f.bin", BODY)
    download_file(url, tmp_path / "f.bin", sha256=sha(BODY), progress=True, desc="f.bin")
    captured = capsys.readouterr()
    assert captured.out == "" and "f.bin" in captured.err


# --- hosts that cannot be reached: no retries, one short message, no empty folders --------------

UNRESOLVABLE = "https://elicbench-test.invalid/kodak"   # .invalid never resolves (RFC 6761)


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nobody listens on: connection refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def slow_backoff(monkeypatch):
    """A retry would sleep 30 s: any retry of an unreachable host breaks the time bounds below."""
    monkeypatch.setattr(download, "BACKOFF_S", 30.0)
    monkeypatch.setattr(download, "RETRIES", 3)


def within(seconds: float, fn):
    """Run fn in a daemon thread; the test fails (instead of hanging) if it is not done in time.
    Returns (the exception fn raised or None, elapsed seconds)."""
    outcome: dict[str, BaseException | None] = {"error": None}

    def target():
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 (handed to the test)
            outcome["error"] = exc

    start = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return outcome["error"], time.monotonic() - start


def test_closed_port_fails_at_once_without_retries(closed_port_url, slow_backoff, tmp_path, caplog):
    error, elapsed = within(10, lambda: download_file(closed_port_url + "/f.bin", tmp_path / "d" / "f.bin",
                                                      progress=False))
    assert isinstance(error, HostUnreachableError), error
    assert "refused" in error.reason and error.host == closed_port_url.removeprefix("http://")
    assert elapsed < 5
    assert "retrying" not in caplog.text


def test_unresolvable_host_fails_at_once_without_retries(slow_backoff, tmp_path, caplog):
    error, elapsed = within(10, lambda: download_file(UNRESOLVABLE + "/kodim01.png", tmp_path / "f.png",
                                                      progress=False))
    assert isinstance(error, HostUnreachableError), error
    assert error.host == "elicbench-test.invalid" and "resolve" in error.reason
    assert elapsed < 10 and "retrying" not in caplog.text
    assert list(tmp_path.iterdir()) == []


def test_a_host_that_never_answers_is_retried_then_called_unreachable(isolated_env, tmp_path):
    with socket.socket() as listener:       # accepts connections (the kernel does) but never replies
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        error, elapsed = within(10, lambda: download_file(f"http://127.0.0.1:{port}/f.bin", tmp_path / "f.bin",
                                                          timeout=0.2, retries=1, progress=False))
    assert isinstance(error, HostUnreachableError), error
    assert "no answer after 2 attempt(s)" in error.reason and "timed out" in error.reason
    assert elapsed >= 0.4


def test_offline_kodak_fetch_ends_in_seconds_with_a_short_message(isolated_env, closed_port_url, slow_backoff,
                                                                 caplog):
    dataset = KodakDataset(base_urls=[UNRESOLVABLE, closed_port_url + "/kodak"])
    error, elapsed = within(10, lambda: dataset.fetch(progress=False))
    assert isinstance(error, DatasetError), error
    message = str(error)
    assert elapsed < 10
    assert len(message) < 600, message
    assert "elicbench-test.invalid" in message and closed_port_url.removeprefix("http://") in message
    assert "ELICBENCH_DATA" in message and str(isolated_env / "kodak") in message
    assert UNRESOLVABLE + "/" in message, "says where to download the files by hand"
    assert "retrying" not in caplog.text and len(caplog.records) == 0, caplog.text
    assert not isolated_env.exists(), "a failed fetch leaves no empty cache folder"

    # run --offline afterwards: not found, and the advice does not rely on the network alone.
    with pytest.raises(DatasetError) as err:
        resolve_dataset("kodak", download=False)
    assert "not found" in str(err.value) and "ELICBENCH_DATA=DIR" in str(err.value)
    assert "by hand" in str(err.value)


def test_fetch_keeps_what_was_in_the_cache_when_no_host_is_reachable(isolated_env, closed_port_url,
                                                                    slow_backoff):
    cache = isolated_env / "kodak"
    cache.mkdir(parents=True)
    (cache / "kodim01.png").write_bytes(b"some old file")   # not Kodak's: will be fetched again
    error, _ = within(10, lambda: KodakDataset(base_urls=[closed_port_url]).fetch(progress=False))
    assert isinstance(error, DatasetError) and "connection refused" in str(error)
    assert sorted(p.name for p in cache.iterdir()) == ["kodim01.png"], "only the folders a fetch made go"


def test_an_unreachable_host_is_tried_once_and_the_next_one_serves_every_file(server, isolated_env,
                                                                             closed_port_url, slow_backoff,
                                                                             caplog):
    dataset = KodakDataset(base_urls=[closed_port_url + "/kodak", server.base_url + "/kodak"])
    bodies = {name: os.urandom(1000) for name in dataset.expected_files()}
    for name, body in bodies.items():
        server.add(f"/kodak/{name}", body)
    dataset.sha256 = {name: sha(body) for name, body in bodies.items()}   # the served files are the set
    with caplog.at_level(logging.WARNING):
        error, elapsed = within(20, lambda: dataset.fetch(progress=False))
    assert error is None and elapsed < 10
    assert len(server.requests) == 24
    assert all((isolated_env / "kodak" / n).read_bytes() == b for n, b in bodies.items())
    unreachable = [r for r in caplog.records if "connection refused" in r.getMessage()]
    assert len(unreachable) == 1, "the dead host is tried (and reported) once, not for every file"
    assert "next host" in unreachable[0].getMessage()


def test_offline_clic_fetch_ends_at_once_with_a_short_message(isolated_env, closed_port_url, slow_backoff):
    url = closed_port_url + "/professional_valid_2020.zip"
    clic = ClicDataset(archive_url=url, archive_sha256=sha(b"x"), archive_size=1)
    error, elapsed = within(10, lambda: clic.fetch(progress=False))
    assert isinstance(error, DatasetError) and elapsed < 10
    message = str(error)
    assert len(message) < 600 and "ELICBENCH_DATA" in message and url in message, message
    assert str(isolated_env / "downloads") in message, "says where a hand-downloaded archive goes"
    assert not isolated_env.exists(), "no empty cache or downloads folder left"


def test_an_empty_cache_folder_is_not_an_incomplete_dataset(isolated_env):
    (isolated_env / "kodak").mkdir(parents=True)     # as older versions left after a failed fetch
    with pytest.raises(DatasetError, match="'kodak' not found"):
        resolve_dataset("kodak", download=False)


def test_offline_fetch_from_the_command_line(isolated_env, tmp_path):
    """`elicbench fetch kodak` with no reachable host: exit 2, one short line on stderr, in seconds."""
    env = {**os.environ, "ELICBENCH_CACHE": str(isolated_env), "ELICBENCH_KODAK_URL": UNRESOLVABLE,
           "HOME": str(tmp_path / "home")}
    env.pop("ELICBENCH_DATA", None)
    start = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "elicbench.cli", "fetch", "kodak"], env=env, capture_output=True,
                         text=True, timeout=60)
    elapsed = time.monotonic() - start
    assert res.returncode == 2, res.stderr
    assert elapsed < 10
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) < 600, res.stderr
    assert lines[0].startswith("elicbench fetch: error: cannot download kodak") and "ELICBENCH_DATA" in lines[0]
    assert not isolated_env.exists()


def test_an_untrusted_tls_certificate_fails_at_once(tmp_path, slow_backoff):
    """A certificate the system does not trust (here self-signed) will not pass on a retry either."""
    import shutil
    import ssl
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-days", "1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_error(404)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{httpd.server_address[1]}/f.bin"
        error, elapsed = within(10, lambda: download_file(url, tmp_path / "d" / "f.bin", progress=False))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert isinstance(error, DownloadError) and not isinstance(error, HostUnreachableError), error
    assert "TLS certificate not accepted" in str(error) and elapsed < 5
    assert hits == []
