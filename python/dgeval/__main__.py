"""The dgeval command-line tool from the Python package: ``python -m dgeval ARGS`` and the
``dgeval`` console script (pyproject.toml, ``[project.scripts]``) run the CLI binary that
``pip install .`` bundles as ``dgeval/bin/dgeval``.

The Python process is replaced by the binary (``os.execv``) with the arguments unchanged, so
output, exit status (0 ok, 1 bad input, 2 bad command line, 3 a bound failed, 4 ``--check`` out
of tolerance, 130 interrupted) and Ctrl-C are exactly the CLI's."""

import os
import signal
import sys

#: Exit status when the package holds no CLI binary (as a shell's "command not found").
MISSING_BINARY_STATUS = 127


def binary() -> str:
    """The path of the bundled CLI binary."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "dgeval")


def main() -> int:
    """Replaces this process with the CLI, passing on ``sys.argv[1:]``; returns only when the
    binary is missing (with MISSING_BINARY_STATUS, after a message on stderr)."""
    exe = binary()
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        sys.stderr.write(
            f"dgeval: the command-line tool is not in this installation of the Python package "
            f"(no executable {exe}); reinstall it with `pip install .` from a checkout of dgeval, "
            f"or build the CLI with CMake (README.md, Quick start)\n"
        )
        return MISSING_BINARY_STATUS
    # Python ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored across exec:
    # restore the defaults the CLI has when started from a shell (`dgeval ... | head` ends it).
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(exe, ["dgeval", *sys.argv[1:]])
    return 0  # not reached: execv returns only by raising OSError


if __name__ == "__main__":
    sys.exit(main())
