"""What a training run tells its user and leaves on disk while it runs: a progress bar (or plain
lines when there is no terminal), ``train_log.csv``, TensorBoard scalars, and SIGINT/SIGTERM
turned into a flag the loop checks between steps (so a checkpoint is saved before it stops).
"""
from __future__ import annotations

import csv
import signal
import sys
import time
from pathlib import Path
from typing import Any

from elicbench.metrics import psnr_from_mse

CSV_COLUMNS = ("step", "split", "loss", "bpp", "mse", "psnr", "learning_rate", "steps_per_s", "elapsed_s")


class StopSignals:
    """Turns SIGINT/SIGTERM into a flag the loop checks between steps (so a checkpoint can be saved)."""

    def __init__(self):
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self):
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.received is not None:  # a second signal: stop now, without a checkpoint
            raise KeyboardInterrupt
        self.received = signum

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


class Progress:
    """tqdm bar on a terminal; otherwise (nohup logs, CI) a plain line every ``log_every`` steps."""

    def __init__(self, enabled: bool, start: int, total: int):
        self.enabled, self.total = enabled, total
        self.bar = None
        self._first: tuple[float, int] | None = None  # (time, step) after the first step: excludes tracing
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=start, unit="step", dynamic_ncols=True, file=sys.stderr)

    def update(self, step: int, scalars: dict[str, float]):
        """Every step: moves the bar (the bar shows the step's own values)."""
        if self._first is None:
            self._first = (time.monotonic(), step)
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            if step % 10 == 0:
                self.bar.set_postfix(loss=f"{scalars['loss']:.4f}", bpp=f"{scalars['bpp']:.3f}",
                                     psnr=f"{scalars['psnr']:.2f}")

    def report(self, step: int, averages: dict[str, float]):
        """Every ``log_every`` steps: the window's means, speed and ETA as one line (no terminal)."""
        if not self.enabled or self.bar is not None:
            return
        t0, s0 = self._first or (time.monotonic(), step)
        rate = (step - s0) / max(1e-9, time.monotonic() - t0)
        eta = f"ETA {(self.total - step) / rate / 60:.1f} min" if rate > 0 else "ETA ?"
        print(f"step {step}/{self.total}  loss {averages['loss']:.4f}  bpp {averages['bpp']:.4f}  "
              f"psnr {averages['psnr']:.2f} dB  {rate:.3f} steps/s  {eta}", file=sys.stderr, flush=True)

    def message(self, text: str):
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        elif self.enabled:
            print(text, file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class CsvLog:
    def __init__(self, path: Path):
        self.path = path
        new = not path.exists()
        self.file = open(path, "a", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=CSV_COLUMNS)
        if new:
            self.writer.writeheader()

    def write(self, row: dict[str, Any]):
        self.writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        self.file.flush()

    def close(self):
        self.file.close()


class TrainingLog:
    """The progress line, ``train_log.csv`` and TensorBoard scalars of one call of ``train``."""

    def __init__(self, tf, state_dir: Path, progress: Progress):
        self.tf = tf
        self.writer = tf.summary.create_file_writer(str(state_dir / "logs"))
        self.csv = CsvLog(state_dir / "train_log.csv")
        self.progress = progress

    def step(self, step: int, values: dict[str, float]) -> None:
        self.progress.update(step, {**values, "psnr": psnr_from_mse(values["mse"])})

    def train_window(self, step: int, means: dict[str, float], learning_rate: float, steps_per_s: float,
                     elapsed_s: float) -> dict[str, float]:
        """The means of the last ``log_every`` steps; returns them with their PSNR."""
        means = {**means, "psnr": psnr_from_mse(means["mse"])}
        with self.writer.as_default(step=step):
            for k, v in means.items():
                self.tf.summary.scalar(f"train/{k}", v)
            self.tf.summary.scalar("train/learning_rate", learning_rate)
            self.tf.summary.scalar("train/steps_per_s", steps_per_s)
        self.csv.write({"step": step, "split": "train", **means, "learning_rate": learning_rate,
                        "steps_per_s": steps_per_s, "elapsed_s": elapsed_s})
        self.progress.report(step, means)
        return means

    def validation(self, step: int, values: dict[str, float], elapsed_s: float) -> dict[str, float]:
        values = {**values, "psnr": psnr_from_mse(values["mse"])}
        with self.writer.as_default(step=step):
            for k, v in values.items():
                self.tf.summary.scalar(f"validation/{k}", v)
        self.csv.write({"step": step, "split": "validation", **values, "elapsed_s": elapsed_s})
        self.progress.message(f"validation at step {step}: loss {values['loss']:.4f}  bpp {values['bpp']:.4f}  "
                              f"psnr {values['psnr']:.2f} dB (hard rounding)")
        return values

    def message(self, text: str) -> None:
        self.progress.message(text)

    def close(self) -> None:
        self.writer.flush()
        self.csv.close()
        self.progress.close()
