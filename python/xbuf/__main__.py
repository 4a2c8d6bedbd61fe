"""``python -m xbuf`` (also installed as ``xbuf-py``): look at binary files through a format.

    xbuf-py show FILE --format F [--shape D0,D1,...] [--offset N] [--slice '10:20, ::2']
                      [--json | --hex | --table]

``show`` maps FILE read-only, skips ``--offset`` bytes, reads the rest as items of ``--format``
(PEP 3118 struct syntax) in ``--shape`` (default: one dimension of as many items as fit),
applies ``--slice`` (Python's slice syntax in every dimension) and prints the items: as a table
(the default; one row per item of a 1-D view, one line per row of a 2-D view), as JSON (the
library's rendering: floats as Python's repr, bytes as Latin-1 strings) or as hexadecimal.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import xbuf


class UsageError(Exception):
    """A bad argument: reported with the usage line, exit status 2."""


def _parse_shape(text: str) -> list[int]:
    parts = [p.strip() for p in text.replace("x", ",").split(",") if p.strip()]
    if not parts:
        raise UsageError(f"--shape {text!r}: no extents")
    try:
        shape = [int(p) for p in parts]
    except ValueError:
        raise UsageError(f"--shape {text!r}: extents are integers, such as 3,4") from None
    if any(n < 0 for n in shape):
        raise UsageError(f"--shape {text!r}: extents cannot be negative")
    return shape


def _parse_slice(text: str) -> tuple:
    """``'10:20, ::2, 3'`` as the key ``(slice(10, 20), slice(None, None, 2), 3)``."""
    key = []
    for part in text.split(","):
        part = part.strip()
        if part == "...":
            key.append(Ellipsis)
            continue
        try:
            if ":" not in part:
                key.append(int(part))
                continue
            bounds = part.split(":")
            if len(bounds) > 3:
                raise ValueError
            vals = [int(b) if b.strip() else None for b in bounds]
        except ValueError:
            raise UsageError(
                f"--slice {text!r}: {part!r} is neither an index nor a slice such as 10:20 or ::2"
            ) from None
        key.append(slice(*vals))
    return tuple(key)


def _table(v: xbuf.View) -> str:
    values = v.tolist()
    if v.ndim == 0:
        return repr(values)
    if v.ndim == 1:
        width = len(str(max(len(v) - 1, 0)))
        return "\n".join(f"{i:>{width}}  {x!r}" for i, x in enumerate(values))
    if v.ndim == 2:
        cells = [[repr(x) for x in row] for row in values]
        w = max((len(c) for row in cells for c in row), default=1)
        return "\n".join("  ".join(c.rjust(w) for c in row) for row in cells)
    return "\n".join(repr(row) for row in values)


def show(args: argparse.Namespace) -> str:
    try:
        data = xbuf.open(args.file, "r")
    except OSError as e:
        raise UsageError(f"cannot map {args.file!r}: {e.strerror or e}") from None
    if args.offset < 0:
        raise UsageError(f"--offset {args.offset}: cannot be negative")
    if args.offset > len(data):
        raise UsageError(f"--offset {args.offset} is past the end of the file ({len(data)} bytes)")
    try:
        probe = xbuf.bytearray(0).cast(args.format, shape=[0])
        itemsize = probe.itemsize
    except ValueError as e:
        raise UsageError(f"--format {args.format!r}: {e}") from None
    rest = len(data) - args.offset
    if args.shape is not None:
        shape = _parse_shape(args.shape)
        n = itemsize
        for d in shape:
            n *= d
        if n > rest:
            raise UsageError(
                f"--shape {args.shape}: needs {n} bytes of {args.format!r} items; "
                f"the file has {rest} bytes after offset {args.offset}"
            )
    else:
        if itemsize == 0:
            raise UsageError(f"--format {args.format!r} has items of 0 bytes: give --shape")
        shape = [rest // itemsize]
        n = shape[0] * itemsize
    v = data[args.offset : args.offset + n].cast(args.format, shape=shape)
    if args.slice is not None:
        try:
            v = v[_parse_slice(args.slice)]
        except (IndexError, TypeError, ValueError) as e:
            raise UsageError(f"--slice {args.slice!r}: {e}") from None
        if not isinstance(v, xbuf.View):  # every dimension indexed: one item
            return repr(v)
    if args.json:
        return v.tojson()
    if args.hex:
        return v.hex()
    return _table(v)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="xbuf-py", description="Look at binary files through a PEP 3118 format."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("show", help="print the items of a file read through a format")
    p.add_argument("file", help="the file to map (read-only)")
    p.add_argument("--format", "-f", required=True, help="item format, e.g. '<d' or 'T{<i:x: <f:y:}'")
    p.add_argument("--shape", help="extents, e.g. 3,4 (default: as many items as fit)")
    p.add_argument("--offset", type=int, default=0, help="bytes to skip at the start")
    p.add_argument("--slice", help="a key in Python's syntax, e.g. '10:20, ::2'")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the items as JSON")
    out.add_argument("--hex", action="store_true", help="print the bytes as hexadecimal")
    out.add_argument("--table", action="store_true", help="print a table (the default)")
    args = parser.parse_args(argv)
    try:
        text = show(args)
    except UsageError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    except (ValueError, IndexError, TypeError, BufferError, OSError) as e:
        parser.exit(1, f"{parser.prog}: error: {e}\n")
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
