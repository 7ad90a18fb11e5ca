"""Fixtures for the dataset tests: an isolated environment and a local HTTP server with failure modes."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from elicbench.datasets import download


@pytest.fixture
def isolated_env(monkeypatch, tmp_path) -> Path:
    """No $ELICBENCH_DATA, a fresh cache under tmp_path, no URL overrides, fast retries.

    Returns the cache directory.
    """
    cache = tmp_path / "cache"
    for var in ("ELICBENCH_DATA", "XDG_CACHE_HOME", "ELICBENCH_KODAK_URL", "ELICBENCH_CLIC_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ELICBENCH_CACHE", str(cache))
    monkeypatch.setattr(download, "RETRIES", 2)
    monkeypatch.setattr(download, "BACKOFF_S", 0.0)
    return cache


@dataclass
class Route:
    body: bytes
    mode: str = "ok"          # ok | truncate | interrupt_first | status_first | status
    status: int = 200          # for status / status_first
    failures: int = 1          # how many requests fail in the *_first modes
    hits: int = 0


class LocalServer:
    """Serves byte strings at paths on 127.0.0.1; records every requested path."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                server.requests.append(self.path)
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404, "no such file")
                    return
                route.hits += 1
                failing = route.hits <= route.failures
                if route.mode == "status" or (route.mode == "status_first" and failing):
                    self.send_error(route.status)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                if route.mode == "truncate" or (route.mode == "interrupt_first" and failing):
                    # Announce the whole body, send half of it, hang up.
                    self.wfile.write(route.body[: len(route.body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(route.body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, path: str, body: bytes, mode: str = "ok", **kwargs) -> str:
        self.routes[path] = Route(body, mode, **kwargs)
        return self.base_url + path

    def hits(self, path: str) -> int:
        return self.requests.count(path)


@pytest.fixture
def server():
    s = LocalServer()
    s.thread.start()
    try:
        yield s
    finally:
        s.httpd.shutdown()
        s.httpd.server_close()
