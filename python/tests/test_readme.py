"""The README's Python one-liner, run as written: the README cannot drift."""

import pathlib
import re
import shlex
import subprocess
import sys

import pytest

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def one_liner():
    text = README.read_text()
    m = re.search(r"<!-- python-one-liner -->\s*```sh\n(.*?)\n```", text, re.S)
    assert m, "README.md has no python-one-liner block"
    return m.group(1).strip()


def test_readme_one_liner_runs():
    if not README.exists():
        pytest.skip("not run from a source tree")
    cmd = shlex.split(one_liner())
    assert cmd[:2] == ["python", "-c"]
    r = subprocess.run([sys.executable, *cmd[1:]], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["[[", "4.", "6.]", "[", "8.", "10.]]"]
