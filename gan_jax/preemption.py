"""Preemption: turn SIGTERM / SIGINT into a request the training loop honours between steps.

Schedulers (TPU pods, Slurm, Kubernetes) send SIGTERM before they kill a job, and a researcher
presses Ctrl-C. In a single-process run, inside ``PreemptionRequest`` the first such signal only
records its name; the loop asks ``requested(step)`` after every step, finishes, writes a
checkpoint synchronously and returns, so the process exits 0. A second signal restores the
previous handlers and re-delivers itself (abort now; the latest committed checkpoint stays
usable because Orbax commits by renaming a finished directory). The handlers are hand-written
because neither JAX nor Orbax installs any for single-process runs.

In a multi-process run every process must save the same step together, so there the decision
is JAX's preemption service (``multihost_utils.reached_preemption_sync_point``, started by
``jax.distributed.initialize``): it catches SIGTERM itself and agrees a step across processes.
"""

from __future__ import annotations

import signal
import threading
from typing import Self

import jax
from jax.experimental import multihost_utils

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class PreemptionRequest:
    """Context manager; ``requested(step)`` says why to stop after ``step``, or None.

    Outside the main thread Python cannot install handlers, so there it watches no signals.
    """

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        if self.signal_name is not None:
            self._restore()
            signal.raise_signal(signum)
            return
        # Only set a flag: printing from a handler can re-enter a buffered write on stdout.
        self.signal_name = signal.Signals(signum).name

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def requested(self, step: int) -> str | None:
        """The signal's name (or 'preemption notice' across processes) once a stop is due.

        Multi-process runs call this at every step on every process, as JAX's protocol needs.
        """
        if jax.process_count() > 1:
            if multihost_utils.reached_preemption_sync_point(step):
                return "preemption notice"
            return None
        return self.signal_name

    def __enter__(self) -> Self:
        single_process = jax.process_count() == 1
        if single_process and threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        self._restore()
