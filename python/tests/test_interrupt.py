"""Ctrl-C during a long evaluation raises KeyboardInterrupt promptly and cleanly.

A child process evaluates the same batch over and over; the parent sends it SIGINT. The child
checks that the KeyboardInterrupt came out of the compiled evaluation (raised by the progress
callback's signal check while the GIL was released), not from Python code between calls, and
that the module still works afterwards."""

import sys
import textwrap

import pytest

from _util import interrupt_child

CHILD = textwrap.dedent(
    """
    import sys, time, traceback
    import dgeval
    a, p = dgeval.generate_uniform((6, 6, 6, 6), 2000, seed=1)
    print("ready", flush=True)
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < 60:
            dgeval.evaluate(a, p, backend="cpu", threads=1)
        print("not interrupted", flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        frames = traceback.extract_tb(sys.exc_info()[2])
        inside = frames[-1].name == "evaluate" and "_core.evaluate" in "".join(
            open(frames[-1].filename).readlines()[frames[-1].lineno - 1 : frames[-1].lineno + 1])
        after = dgeval.example("mammoth").evaluate()["bound"]
        print("interrupted", "inside" if inside else "outside:" + repr(frames[-1]), after, flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_interrupts_a_running_evaluation():
    code, out, err, waited = interrupt_child(CHILD, delay=0.5)
    assert code == 0, out + err
    assert out.split() == ["interrupted", "inside", "8.0"], out + err
    assert waited < 5.0, waited
