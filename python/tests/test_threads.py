"""Releases of Python-backed exports from other threads (Python threads, and native threads
that hold no Python thread state), and no crash when the interpreter shuts down with exports
still held by the library."""

import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import xbuf


def test_release_on_a_native_thread_takes_the_gil():
    ba = bytearray(b"abcdef")
    released_before, _ = xbuf._xbuf._python_exports()
    v = xbuf.View(ba)
    keep = xbuf.View(v)[1:]  # a second object holding its own export of ba
    cap = v._to_object_capsule()
    del v
    with pytest.raises(BufferError):
        ba.append(0)
    # The capsule's reference is the view object's last: dropped on a native thread, the
    # view's export goes back to the Python-backed object, which lives on in `keep`.
    xbuf._xbuf._decref_on_native_thread(cap)
    assert xbuf._xbuf._python_exports()[0] == released_before
    with pytest.raises(TypeError):
        xbuf.View._from_object_capsule(cap)  # the capsule gave its reference away
    del cap
    # Now the Python-backed object's last export goes on a native thread: the bytearray's
    # export is released there, with the GIL taken for it.
    cap = keep._to_object_capsule()
    del keep
    with pytest.raises(BufferError):
        ba.append(0)
    xbuf._xbuf._decref_on_native_thread(cap)
    released_after, leaked = xbuf._xbuf._python_exports()
    assert released_after == released_before + 1
    assert leaked == 0
    ba.append(0x67)
    assert ba == b"abcdefg"


def test_views_shared_and_dropped_by_many_threads():
    base = np.arange(4096, dtype="<i4")
    v = xbuf.View(base)
    errors = []
    barrier = threading.Barrier(8)

    def work(k):
        try:
            barrier.wait()
            for i in range(200):
                s = v[k::8]
                assert s[0] == k
                n = np.asarray(s[1:3])
                assert n.tolist() == [k + 8, k + 16]
                m = memoryview(xbuf.View(s))
                assert m[0] == k
                del s, n, m
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    ba = bytearray(16)
    views = [xbuf.View(ba)[i:] for i in range(16)]
    ts = [threading.Thread(target=views.pop) for _ in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert views == []
    ba.extend(b"x")  # every export was handed back


def run_python(code):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_no_crash_at_shutdown():
    r = run_python(
        """
        import threading, time, numpy as np, xbuf
        keep = [xbuf.View(np.arange(10))[::2], xbuf.View(bytearray(8))]
        class Cycle: pass
        c = Cycle(); c.self = c; c.view = xbuf.View(b"abc")
        cap = xbuf.View(np.zeros(4))._to_object_capsule()
        def hold():
            v = xbuf.View(np.ones(3))
            while True:
                time.sleep(0.001)
                w = v[1:]
        threading.Thread(target=hold, daemon=True).start()
        time.sleep(0.05)
        print("exiting")
        """
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "exiting"
    assert "Fatal" not in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_exports_dropped_during_shutdown_are_leaked():
    # After the atexit hook, a Python export the library drops is leaked, not released (taking
    # the GIL then could hang); before it, it is released.
    r = run_python(
        """
        import numpy as np, xbuf
        a = xbuf.View(np.arange(3)); b = xbuf.View(np.arange(3))
        del a
        print(xbuf._xbuf._python_exports())
        xbuf._xbuf._shutdown()
        del b
        print(xbuf._xbuf._python_exports())
        """
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["(1, 0)", "(1, 1)"]
