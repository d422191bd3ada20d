"""One logger per run: metrics.jsonl, TensorBoard event files and the terminal.

``RunLogger`` is built once by the trainer and called at log, sample and evaluation steps:

- ``workdir/metrics.jsonl``: one JSON object per log step (``{"step": ..., "d/loss": ...}``) and
  per evaluation (``{"step": ..., "eval/frechet_distance": ..., "eval/protocol": {...}}``).
- ``workdir/tensorboard/``: event files with the same scalars and the sample grids, written with
  tensorboardX (the protobuf event format, so ``tensorboard --logdir`` reads them) instead of
  tf.summary, which would make TensorFlow a dependency.
- The terminal: a tqdm progress bar when stdout is an interactive terminal, else plain periodic
  lines (CI logs, ``nohup``), one per log step. The bar appears at the first ``advance``, after
  the lines printed before training (the header, the step-0 evaluation) and after the first
  dispatch, whose compilation would otherwise make its first rate and ETA hours off; its rate
  also leaves out the time before each evaluation record and picture.

A rate that is not known (a log step right after the first dispatch) is ``null`` in
metrics.jsonl and left off the terminal line.

A logger built with ``active=False`` writes nothing (the non-zero processes of a multi-host run).
"""

from __future__ import annotations

import json
import math
import pathlib
import sys
import time
from collections.abc import Mapping
from typing import Any

import numpy as np


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def _format_value(v: float) -> str:
    return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


class RunLogger:
    """Writes training scalars, evaluation records and images of one run."""

    def __init__(
        self,
        workdir: str | pathlib.Path,
        total_steps: int,
        *,
        start_step: int = 0,
        active: bool = True,
        progress_bar: bool | None = None,
        tensorboard: bool = True,
    ):
        self.workdir = pathlib.Path(workdir)
        self.total_steps = total_steps
        self.active = active
        self._jsonl = None
        self._tb = None
        self._bar = None
        self._position = start_step
        self._postfix = {}
        self._started = time.time()
        self._progress_bar = False
        if not active:
            return
        self._jsonl = open(self.workdir / "metrics.jsonl", "a")
        if tensorboard:
            from tensorboardX import SummaryWriter

            # A resumed run hides the events an abandoned attempt wrote after its checkpoint.
            purge = start_step + 1 if start_step else None
            self._tb = SummaryWriter(
                logdir=str(self.workdir / "tensorboard"), flush_secs=30, purge_step=purge
            )
        if progress_bar is None:
            progress_bar = sys.stdout.isatty()
        self._progress_bar = progress_bar

    # -- terminal -------------------------------------------------------------------------------

    def message(self, text: str) -> None:
        """A line for the terminal that does not break the progress bar."""
        if not self.active:
            return
        if self._bar is not None:
            self._bar.write(text)
        else:
            print(text, flush=True)

    def advance(self, steps: int = 1) -> None:
        """Move the progress bar (no-op for plain lines); the first call draws it."""
        self._position += steps
        if not (self.active and self._progress_bar):
            return
        if self._bar is not None:
            self._bar.update(steps)
            return
        from tqdm import tqdm

        # Drawn at the position the first dispatch reached: tqdm's rate and ETA then start
        # from the second one instead of from a step that included compiling the program.
        self._bar = tqdm(
            total=self.total_steps,
            initial=self._position,
            unit="step",
            dynamic_ncols=True,
            file=sys.stdout,
            postfix=self._postfix or None,
        )
        self._bar.start_t = self._started  # elapsed time since the run started

    def _restart_rate(self) -> None:
        """Measure the bar's next rate from now: the evaluation or picture that just ended (and
        anything else since the last redraw) is not training time."""
        if self._bar is not None:
            self._bar.last_print_t = time.time()
            self._bar.last_print_n = self._bar.n

    # -- records --------------------------------------------------------------------------------

    def _write_jsonl(self, record: Mapping[str, Any]) -> None:
        # NaN, which json.dumps would write as the non-JSON token NaN, is "no value": null.
        record = {
            k: None if isinstance(v, float) and math.isnan(v) else v for k, v in record.items()
        }
        self._jsonl.write(json.dumps(record) + "\n")
        self._jsonl.flush()

    def _write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
        if self._tb is not None:
            for k, v in scalars.items():
                if math.isfinite(v):
                    self._tb.add_scalar(k, v, step)

    def log_train(self, step: int, scalars: Mapping[str, float], steps_per_sec: float) -> None:
        """One log step: jsonl, TensorBoard and a terminal line (or the bar's postfix)."""
        if not self.active:
            return
        self._write_jsonl({"step": step, **scalars, "steps_per_sec": steps_per_sec})
        self._write_scalars(step, {**scalars, "perf/steps_per_sec": steps_per_sec})
        losses = {k: v for k, v in scalars.items() if k.endswith("/loss")}
        if self._progress_bar:
            self._postfix = {k: f"{v:+.4f}" for k, v in losses.items()}
            if self._bar is not None:
                self._bar.set_postfix(self._postfix, refresh=False)
            return
        parts = [f"  step {step:>6}/{self.total_steps}"]
        parts += [f"{k} {v:+.4f}" for k, v in losses.items()]
        if math.isfinite(steps_per_sec) and steps_per_sec > 0:
            eta = (self.total_steps - step) / steps_per_sec
            parts.append(f"{steps_per_sec:6.1f} steps/s  ETA {format_duration(eta)}")
        print("  ".join(parts), flush=True)

    def log_eval(self, step: int, result: Mapping[str, Any]) -> None:
        """An evaluation record: every field to jsonl (protocol too), numbers to TensorBoard."""
        if not self.active:
            return
        self._write_jsonl({"step": step, **{f"eval/{k}": v for k, v in result.items()}})
        numbers = {
            k: float(v)
            for k, v in result.items()
            if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
        }
        self._write_scalars(step, {f"eval/{k}": v for k, v in numbers.items()})
        self.message(
            f"  eval at step {step}: "
            + "  ".join(f"{k} {_format_value(v)}" for k, v in numbers.items())
        )
        self._restart_rate()

    def log_image(self, step: int, tag: str, image: np.ndarray) -> None:
        """A uint8 (H, W, C) or (H, W) picture to TensorBoard."""
        if self._tb is None:
            return
        image = np.asarray(image)
        if image.ndim == 2:
            image = image[..., None]
        if image.shape[-1] == 1:
            image = np.repeat(image, 3, axis=-1)
        self._tb.add_image(tag, image[..., :3], step, dataformats="HWC")
        self._restart_rate()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
