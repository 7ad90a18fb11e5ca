"""Downloading one file, safely, with the standard library only.

- HTTPS only; plain HTTP is accepted for loopback hosts (127.0.0.1, ::1, localhost), which is what
  the tests' local server uses.
- Socket timeouts, and retries with exponential backoff on transient failures only: timeouts,
  a connection reset or cut mid-transfer, HTTP 408/425/429/5xx, and a transfer that ends before its
  Content-Length. Other HTTP errors (404, 403 ...) and TLS certificate errors fail at once.
- A host that cannot be reached at all fails at once, without retries, with HostUnreachableError:
  its name does not resolve (no network, no DNS), the connection is refused, or there is no route
  to it. Another try a second later cannot pass, and callers use the error to stop a whole fetch
  instead of trying every file. A host that never answers (every attempt timed out before any
  response) also ends as HostUnreachableError, after the retries.
- The bytes go to a hidden ``.<name>.<random>.part`` file in the destination's directory, which is
  flushed, fsync'ed and checked (size, SHA-256) before ``os.replace`` moves it onto the destination in
  one step. On any failure, Ctrl-C included, the ``.part`` file is removed: the destination is
  either absent, or the complete verified file.
- A SHA-256 mismatch is not retried (the server sends other bytes, another try will not fix it); it
  raises ChecksumMismatchError naming the file, the expected and the received hash.
- Progress: a tqdm bar on stderr while ``progress`` is true.
"""
from __future__ import annotations

import errno
import hashlib
import http.client
import logging
import os
import socket
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .. import __version__
from .base import DatasetError
from .checksums import checksum_mismatch_message

log = logging.getLogger(__name__)

TIMEOUT_S = 60.0          # per blocking socket operation (connect, each read), not the whole transfer
RETRIES = 3               # retries after the first attempt
BACKOFF_S = 1.0           # wait before retry k (0-based) is BACKOFF_S * 2**k
CHUNK_BYTES = 1 << 20
_TRANSIENT_HTTP = {408, 425, 429, 500, 502, 503, 504}
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
# Connection failures that another attempt cannot fix within one fetch.
_UNREACHABLE_ERRNOS = {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN,
                       errno.EHOSTDOWN, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT}
USER_AGENT = f"elicbench/{__version__} (python-urllib)"


class DownloadError(DatasetError):
    """A download failed (network, HTTP status, size), after any retries."""


class HostUnreachableError(DownloadError):
    """The host cannot be reached (name not resolved, connection refused, no route, never answers).

    ``host`` is the URL's host (and port, when given); ``reason`` a short text such as
    ``cannot resolve host name (Temporary failure in name resolution)``.
    """

    def __init__(self, url: str, reason: str):
        parts = urllib.parse.urlsplit(url)
        self.url = url
        self.host = parts.netloc or url
        self.reason = reason
        super().__init__(f"{self.host}: {reason}")


class ChecksumMismatchError(DatasetError):
    """The downloaded bytes do not have the expected SHA-256."""


class _TransientError(Exception):
    """A failure worth retrying. ``before_response``: no HTTP response was received at all."""

    def __init__(self, message: str, before_response: bool = False):
        super().__init__(message)
        self.before_response = before_response


def check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        return
    raise DownloadError(f"refusing to download {url!r}: only https:// URLs are allowed "
                        "(plain http:// only to 127.0.0.1/localhost)")


def download_file(url: str, dest: str | os.PathLike, *, sha256: str | None = None, size: int | None = None,
                  timeout: float | None = None, retries: int | None = None, backoff_s: float | None = None,
                  progress: bool = True, desc: str | None = None) -> Path:
    """Download ``url`` to ``dest`` atomically; verify ``size`` (bytes) and ``sha256`` when given.

    ``timeout``, ``retries`` and ``backoff_s`` default to the module's TIMEOUT_S, RETRIES, BACKOFF_S
    (read at call time). Returns ``dest`` as a Path.
    """
    check_url(url)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    timeout = TIMEOUT_S if timeout is None else timeout
    retries = RETRIES if retries is None else retries
    backoff_s = BACKOFF_S if backoff_s is None else backoff_s
    expected = sha256.lower() if sha256 else None
    answered = False
    for attempt in range(retries + 1):
        try:
            _transfer(url, dest, expected, size, timeout, progress, desc or dest.name)
            return dest
        except _TransientError as exc:
            answered = answered or not exc.before_response
            if attempt == retries:
                if not answered:
                    raise HostUnreachableError(url, f"no answer after {attempt + 1} attempt(s) ({exc})") from None
                raise DownloadError(f"{url}: download failed after {attempt + 1} attempt(s): {exc}") from None
            delay = backoff_s * 2 ** attempt
            log.warning("%s: %s; retrying in %.1f s (retry %d of %d)", url, exc, delay, attempt + 1, retries)
            time.sleep(delay)
    raise AssertionError("unreachable")


def _transfer(url: str, dest: Path, sha256: str | None, size: int | None, timeout: float,
              progress: bool, desc: str) -> None:
    fd, part_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    part = Path(part_name)
    try:
        with os.fdopen(fd, "wb") as out:
            received, digest = _receive(url, out, size, timeout, progress, desc)
            out.flush()
            os.fsync(out.fileno())
        if size is not None and received != size:
            raise DownloadError(f"{url}: received {received} bytes, expected {size}")
        if sha256 is not None and digest != sha256:
            raise ChecksumMismatchError(checksum_mismatch_message(f"{dest.name} (downloaded from {url})",
                                                                  sha256, digest))
        os.replace(part, dest)
        _fsync_directory(dest.parent)
    finally:
        part.unlink(missing_ok=True)


def _receive(url: str, out, size: int | None, timeout: float, progress: bool, desc: str) -> tuple[int, str]:
    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code in _TRANSIENT_HTTP:
            raise _TransientError(f"HTTP {exc.code} {exc.reason}") from None
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        unreachable = _unreachable_reason(reason)
        if unreachable:
            raise HostUnreachableError(url, unreachable) from None
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise DownloadError(f"{url}: TLS certificate not accepted: {reason.verify_message or reason}") from None
        raise _TransientError(_describe(exc), before_response=True) from None
    hasher = hashlib.sha256()
    received = 0
    with response:
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        if size is not None and length is not None and length != size:
            raise DownloadError(f"{url}: server announces {length} bytes (Content-Length), expected {size}")
        with tqdm(total=length, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                  file=sys.stderr, disable=not progress, leave=False) as bar:
            while True:
                try:
                    chunk = response.read(CHUNK_BYTES)
                except (http.client.HTTPException, OSError) as exc:
                    raise _TransientError(f"transfer interrupted after {received} bytes: {_describe(exc)}") from None
                if not chunk:
                    break
                out.write(chunk)
                hasher.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if length is not None and received != length:
        raise _TransientError(f"transfer cut short: received {received} of {length} bytes (Content-Length)")
    return received, hasher.hexdigest()


def _unreachable_reason(exc: BaseException | str) -> str | None:
    """A short reason when ``exc`` says the host cannot be reached at all; None otherwise."""
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host name ({exc.strerror or exc})"
    if isinstance(exc, OSError) and exc.errno in _UNREACHABLE_ERRNOS:
        return (exc.strerror or os.strerror(exc.errno)).lower()
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc.reason, str):
        exc = exc.reason
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; not every platform/filesystem supports it, which is fine."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
