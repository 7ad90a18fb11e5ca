"""Wall-clock medians for the benchmark scripts (standard library only: the CompressAI peer's own
Python imports it too)."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def median_seconds(fn: Callable[[], object], rounds: int = 3, warm_up: bool = False) -> float:
    """Median wall time of ``rounds`` calls of ``fn``, after one untimed call if ``warm_up``."""
    if warm_up:
        fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
