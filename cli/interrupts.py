"""Ctrl-C, SIGTERM and SIGHUP, for every command: each stops a run the same way, so that what it was writing is
removed.

A scheduler's timeout or a service being stopped sends SIGTERM, and a closed terminal or SSH session SIGHUP, which
otherwise end the process on the spot: an output's hidden temporary file, or a half-written folder of letters
(applicants' data), would stay behind.
"""

from __future__ import annotations

from typing import Any

from loanscore.runtime.run_files import RUN_FILES


class Interrupts:
    """Ctrl-C, SIGTERM and SIGHUP raise ``KeyboardInterrupt``: every command runs inside one (``reports_errors``).

    The handler also records the signal: third-party code can swallow the exception (numpy
    turns one raised inside a string-to-float cast into a ``ValueError``, which the validator
    catches), so ``score`` checks the flag again before every chunk is written and before its
    output file is renamed into place. From then on (:meth:`hold`) a signal is only recorded:
    the output is committed, so the run is seen through to its summary and audit record; the
    watcher stops after the file, and ``ask`` after the applicant. In every command, a signal
    between an output's commit and the audit record that names it (``RunFiles.record_due``)
    waits likewise, so the log never lacks a file the run left.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}
        self._held = False

    def __enter__(self) -> Interrupts:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            hangup = getattr(signal, "SIGHUP", None)  # POSIX: the terminal or SSH session closed
            for sig in (signal.SIGINT, signal.SIGTERM, *([hangup] if hangup is not None else [])):
                if signal.getsignal(sig) is signal.SIG_IGN:
                    continue  # e.g. started with `&` (SIGINT) or nohup (SIGHUP): stay deaf to it
                try:
                    self._previous[sig] = signal.signal(sig, self._handler)
                except (ValueError, OSError):
                    pass
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        for sig, previous in self._previous.items():
            signal.signal(sig, previous)

    def _handler(self, signum: int, frame: Any) -> None:
        self.received = signum
        files = RUN_FILES.get()
        if not (self._held or (files is not None and files.record_due)):
            raise KeyboardInterrupt

    def check(self) -> None:
        if self.received is not None:
            raise KeyboardInterrupt

    def hold(self) -> None:
        """The output is about to be committed: a signal from now on is recorded, not raised, until
        :meth:`release`, so that a committed output is never left without its summary and audit record."""
        self._held = True

    def release(self) -> None:
        """End a hold; a signal received during it stops the run now."""
        self._held = False
        self.check()

    def guard(self, writer: Any, flush: Any = None) -> Any:
        """``writer``, stopping before a chunk once Ctrl-C was pressed; flushing ``flush`` (a stream) after each."""
        interrupts = self

        class Guarded:
            def write(self, chunk: Any) -> None:
                interrupts.check()
                writer.write(chunk)
                if flush is not None:
                    flush.flush()

        return Guarded()
