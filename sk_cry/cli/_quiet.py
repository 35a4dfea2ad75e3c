"""Keep TensorFlow's and LiteRT's native log lines off the command line's stderr.

TensorFlow 2.21 writes absl log lines from C++ before absl's logging is set up
(``I0000 ... port.cc:153] oneDNN custom operations are on ...`` at import,
``E0000 ... NodeDef mentions attribute use_unbounded_threadpool ...`` from
tf.data in every ``Model.fit``), which ``TF_CPP_MIN_LOG_LEVEL`` does not stop,
and LiteRT prints ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.``
(and TensorFlow's quantizer ``fully_quantize: 0, inference_type: 6, ...``).
Both go straight to file descriptor 2. The command line is an application, so it
may do what the library must not: route descriptor 2 through a pipe and drop
lines of exactly those shapes. Everything else (Python warnings, tracebacks,
fatal ``F`` lines, joblib workers' output) passes through unchanged.
"""

import os
import re
import sys
import threading
from contextlib import contextmanager

__all__ = ["native_logs_filtered"]

_NOISE = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.\-]+:\d+\]"
    rb"|INFO: Created TensorFlow Lite XNNPACK delegate"
    rb"|fully_quantize: \d+, inference_type: \d+, input_inference_type: )"
)
_END = b"\x00sk-cry: end of filtered stderr\n"


def _pump(read_fd, out_fd):
    with os.fdopen(read_fd, "rb") as pipe:
        for line in pipe:
            done = line.endswith(_END)
            if done:
                line = line[:-len(_END)]
            if line and not _NOISE.match(line):
                os.write(out_fd, line)
            if done:
                return


@contextmanager
def native_logs_filtered():
    """Filter descriptor 2 while the block runs (see the module docstring).

    Yields the unfiltered stderr, as a text file, for progress bars."""
    # C++ lines that are not errors are dropped at the source where TF allows it
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        sys.stderr.flush()
        original = os.dup(2)
        read_fd, write_fd = os.pipe()
    except OSError:  # no usable descriptor 2: nothing to filter
        yield sys.stderr
        return
    os.dup2(write_fd, 2)
    pump = threading.Thread(target=_pump, args=(read_fd, original), daemon=True)
    pump.start()
    # the terminal itself, for progress bars: their carriage returns must not
    # wait in the filter for a line's end
    terminal = os.fdopen(os.dup(original), "w", buffering=1)
    try:
        yield terminal
    finally:
        terminal.close()
        sys.stderr.flush()
        os.dup2(original, 2)
        # an end mark rather than end-of-file: worker processes may still hold
        # the pipe open
        os.write(write_fd, _END)
        os.close(write_fd)
        pump.join(timeout=5)
        os.close(original)
