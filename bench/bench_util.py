"""Timing shared by the Python benchmark programs: many short repetitions of a call and of its
baseline, alternating, so that a burst of load on a shared machine falls on both; each side's
median is reported."""

import statistics
import time


def timed_ns(fn, calls):
    """One repetition: ``calls`` calls of ``fn``, in ns per call."""
    loop = range(calls)
    t0 = time.perf_counter_ns()
    for _ in loop:
        fn()
    return (time.perf_counter_ns() - t0) / calls


def compare(rows, name, fn, base_name, base, target, reps, calls):
    """Appends ``(name, median, base_name, base median, ratio, target)`` to ``rows``."""
    a, b = [], []
    for _ in range(reps):
        a.append(timed_ns(fn, calls))
        b.append(timed_ns(base, calls))
    x, y = statistics.median(a), statistics.median(b)
    rows.append((name, x, base_name, y, x / y, target))
