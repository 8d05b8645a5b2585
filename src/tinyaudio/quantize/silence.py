"""Keep the TFLite converter's output (TensorSpec listings, MLIR and absl logs) off the terminal."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Iterator


@contextlib.contextmanager
def quiet_converter(enabled: bool = True) -> Iterator[None]:
    """Send file descriptors 1 and 2 to a temporary file while the block runs.

    The converter writes from Python (``print``) and from C++ (absl / MLIR logs), so redirecting
    ``sys.stdout`` is not enough. If the block raises, what was captured is written to stderr
    before the exception propagates, so nothing needed for a diagnosis is lost.

    Args:
        enabled: False leaves the output alone (``--verbose``).
    """
    if not enabled:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            _restore(saved)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace")[-4000:])
            raise
        finally:
            _restore(saved)
            for copy in saved:
                os.close(copy)


def _restore(saved: tuple[int, int]) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    for fd, copy in zip((1, 2), saved):
        try:
            os.dup2(copy, fd)
        except OSError:
            pass
