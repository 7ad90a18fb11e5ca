"""Running jobs on a Dask distributed cluster (``elicbench run --scheduler tcp://HOST:PORT``).

Dask's client exposes a ``concurrent.futures`` executor, so the runner's one code path drives
local and distributed runs alike; rows are written by the client as they arrive. Dask itself
re-runs the tasks of a worker that dies (up to its ``distributed.scheduler.allowed-failures``);
a job that keeps killing workers comes back as ``KilledWorker`` and becomes an error row.

Workers need elicbench installed (same version) and the dataset files at the same paths
(a shared file system or identical copies): a job carries the image's path, not its pixels.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from .errors import UserError


class SchedulerError(UserError):
    """The Dask scheduler cannot be reached or dask is not installed (exit code 2)."""


@contextlib.contextmanager
def dask_executor(address: str, timeout: float = 10.0) -> Iterator:
    try:
        from distributed import Client
    except ImportError:
        raise SchedulerError("--scheduler needs Dask: pip install 'elicbench[dask]'") from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        # pure=False: every job runs (no key-hash de-duplication of identical calls).
        with client.get_executor(pure=False) as ex:
            yield ex
    finally:
        client.close()


def cluster_workers(address: str) -> int:
    """Number of workers the scheduler currently has (for the manifest)."""
    from distributed import Client

    with Client(address, timeout=10, set_as_default=False) as client:
        return len(client.scheduler_info().get("workers", {}))
