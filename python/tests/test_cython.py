"""Cython typed memoryviews take a View zero-copy (read-only views as `const` memoryviews,
writable ones written through), with its shape and strides. Skipped, with the reason, when
Cython or a C compiler with Python's headers is missing."""

import importlib
import subprocess
import sys
import sysconfig
import textwrap

import numpy as np
import pytest

import xbuf

SOURCE = textwrap.dedent(
    """
    # cython: language_level=3
    def total(const double[:, :] a):
        cdef double s = 0
        cdef Py_ssize_t i, j
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                s += a[i, j]
        return s

    def layout(const double[:, :] a):
        return (a.shape[0], a.shape[1]), (a.strides[0], a.strides[1])

    def fill(double[:, :] a, double x):
        a[:, :] = x
    """
)


@pytest.fixture(scope="module")
def cyview(tmp_path_factory):
    pytest.importorskip("Cython", reason="Cython is not installed")
    pytest.importorskip("setuptools", reason="setuptools (for cythonize) is not installed")
    include = sysconfig.get_paths()["include"]
    import os

    if not os.path.exists(os.path.join(include, "Python.h")):
        pytest.skip(f"Python's C headers are not installed ({include})")
    d = tmp_path_factory.mktemp("cython")
    (d / "xbuf_cy_check.pyx").write_text(SOURCE)
    r = subprocess.run(
        [sys.executable, "-m", "Cython.Build.Cythonize", "-i", "-q", "xbuf_cy_check.pyx"],
        cwd=d,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot build a Cython extension here: {r.stderr.strip()[-300:]}")
    sys.path.insert(0, str(d))
    try:
        yield importlib.import_module("xbuf_cy_check")
    finally:
        sys.path.remove(str(d))


def test_cython_reads_views(cyview):
    a = np.arange(12.0).reshape(3, 4)
    v = xbuf.View(a)
    assert cyview.total(v) == a.sum()
    assert cyview.total(v[1:, ::2]) == a[1:, ::2].sum()
    assert cyview.total(v.T) == a.sum()
    assert cyview.layout(v[::-1, 1::2]) == ((3, 2), (-32, 16))


def test_cython_writes_writable_views_only(cyview):
    a = np.zeros((3, 4))
    cyview.fill(xbuf.View(a, writable=True)[:, 1:3], 7.0)
    assert a.tolist() == [[0.0, 7.0, 7.0, 0.0]] * 3
    with pytest.raises(BufferError):
        cyview.fill(xbuf.View(a), 1.0)
    with pytest.raises((ValueError, BufferError)):
        cyview.total(xbuf.View(np.arange(4, dtype="<i4").reshape(2, 2)))  # wrong dtype
