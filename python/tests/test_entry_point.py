"""The command-line tool that `pip install .` installs: the `dgeval` console script and
`python -m dgeval` run the CLI binary bundled in the package (dgeval/bin/dgeval), with its
output and exit status; the wheel holds the Python package only (no C++ headers or library)."""

import importlib.metadata
import os
import signal
import subprocess
import sys
import sysconfig

import pytest

import dgeval
import dgeval.__main__ as entry

SCRIPT = os.path.join(sysconfig.get_path("scripts"), "dgeval")


def run(command, *args):
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120)


def commands():
    """The console script and `python -m dgeval`."""
    assert os.access(SCRIPT, os.X_OK), f"no console script {SCRIPT}"
    return [SCRIPT], [sys.executable, "-m", "dgeval"]


def test_the_package_bundles_the_cli():
    exe = entry.binary()
    assert os.path.isfile(exe) and os.access(exe, os.X_OK), exe
    assert run([exe], "--version").stdout.strip().endswith(dgeval.__version__)


def test_script_and_module_run_the_cli():
    script, module = commands()
    a = run(script, "evaluate", "--example", "mammoth")
    b = run(module, "evaluate", "--example", "mammoth")
    assert a.returncode == 0, a.stderr
    assert b.returncode == 0, b.stderr
    assert "mammoth" in a.stdout
    assert a.stdout == b.stdout
    assert a.stdout == run([entry.binary()], "evaluate", "--example", "mammoth").stdout


def test_exit_status_of_a_bad_command_line():
    for command in commands():
        r = run(command, "evaluate", "--no-such-option")
        assert r.returncode == 2, (command, r.returncode, r.stderr)
        assert "no-such-option" in r.stderr


def test_a_closed_pipe_ends_it_as_it_ends_the_cli():
    # Python ignores SIGPIPE; the CLI started through Python must not inherit that. Its output
    # (millions of bytes) goes on long after the reader stops at the first line.
    args = ["evaluate", "--random", "200000", "--dims", "3x3", "--format", "csv", "--backend", "cpu", "-q"]
    statuses = []
    for command in ([entry.binary()], *commands()):
        child = subprocess.Popen([*command, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        child.stdout.readline()
        child.stdout.close()
        statuses.append(child.wait(timeout=120))
    assert statuses == [-signal.SIGPIPE] * 3, statuses


def test_a_missing_binary_is_explained(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(entry, "binary", lambda: str(tmp_path / "bin" / "dgeval"))
    assert entry.main() == entry.MISSING_BINARY_STATUS
    err = capsys.readouterr().err
    assert "command-line tool is not in this installation" in err and str(tmp_path) in err


def test_the_wheel_holds_no_cpp_install():
    files = [str(f) for f in importlib.metadata.files("dgeval")]
    assert "dgeval/bin/dgeval" in files
    stray = [f for f in files if not f.startswith(("dgeval/", "dgeval-", "../"))]
    assert stray == [], stray
    assert not [f for f in files if f.endswith((".a", ".hpp", ".cmake"))]
