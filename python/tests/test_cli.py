"""`python -m xbuf show` and the installed `xbuf-py` command: output against NumPy's reading
of the same file, and clear errors for a bad format, shape, slice or file."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest


def run(*args, exe=None):
    cmd = [exe] if exe else [sys.executable, "-m", "xbuf"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120)


@pytest.fixture
def grid(tmp_path):
    p = tmp_path / "grid.bin"
    a = (np.arange(24, dtype="<f4") * 0.5).reshape(4, 6)
    p.write_bytes(b"HEADER00" + a.tobytes())
    return p, a


def test_json_slice(grid):
    p, a = grid
    r = run("show", str(p), "--format", "<f", "--offset", "8", "--shape", "4,6",
            "--slice", "1:3, ::2", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == a[1:3, ::2].tolist()


def test_table_and_hex(grid):
    p, a = grid
    r = run("show", str(p), "-f", "<f", "--offset", "8", "--shape", "4,6", "--slice", "0, 1:4")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "0.5", "1", "1.0", "2", "1.5"]
    r = run("show", str(p), "-f", "<f", "--offset", "8", "--shape", "4,6", "--table")
    rows = [line.split() for line in r.stdout.splitlines()]
    assert [[float(x) for x in row] for row in rows] == a.tolist()
    r = run("show", str(p), "-f", "B", "--shape", "8", "--hex")
    assert r.stdout.strip() == b"HEADER00".hex()
    r = run("show", str(p), "-f", "<f", "--offset", "8", "--shape", "4,6", "--slice", "2, 3")
    assert r.stdout.strip() == repr(float(a[2, 3]))


def test_default_shape_fits_as_many_items_as_possible(grid):
    p, a = grid
    r = run("show", str(p), "-f", "<d", "--offset", "8", "--json")
    assert json.loads(r.stdout) == np.frombuffer(a.tobytes(), "<f8").tolist()
    r = run("show", str(p), "-f", "T{<f:x: <f:y:}", "--offset", "8", "--shape", "2", "--json")
    assert json.loads(r.stdout) == [{"x": 0.0, "y": 0.5}, {"x": 1.0, "y": 1.5}]


@pytest.mark.parametrize(
    "args, text, status",
    [
        (["-f", "k"], "--format 'k'", 2),
        (["-f", "<f", "--shape", "100"], "needs 400 bytes", 2),
        (["-f", "<f", "--shape", "a,b"], "--shape", 2),
        (["-f", "<f", "--shape", "-1"], "negative", 2),
        (["-f", "<f", "--offset", "1000"], "past the end", 2),
        (["-f", "<f", "--offset", "-1"], "negative", 2),
        (["-f", "<f", "--slice", "1:2:0"], "--slice", 2),
        (["-f", "<f", "--slice", "x"], "--slice", 2),
        (["-f", "<f", "--slice", "99"], "--slice", 2),
        (["-f", "<f", "--json", "--hex"], "not allowed", 2),
        ([], "--format", 2),
    ],
)
def test_bad_input_is_a_clear_error(grid, args, text, status):
    p, _ = grid
    r = run("show", str(p), *args)
    assert r.returncode == status, (r.stdout, r.stderr)
    assert text in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_missing_file(tmp_path):
    r = run("show", str(tmp_path / "missing.bin"), "-f", "B")
    assert r.returncode == 2
    assert "cannot map" in r.stderr and "No such file" in r.stderr


def test_installed_command(grid):
    exe = shutil.which("xbuf-py", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("xbuf-py is not installed beside this interpreter")
    p, a = grid
    r = run("show", str(p), "-f", "<f", "--offset", "8", "--json", exe=exe)
    assert json.loads(r.stdout) == a.ravel().tolist()
