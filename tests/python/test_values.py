"""Item values differential test: libxbuf's JSON text of items against the real thing.

    test_values.py struct [SEED]   formats the struct module parses, against struct.unpack
                                   (with json.dumps), float text against Python's repr for
                                   every half and for random and tied floats and doubles, and
                                   long doubles against the C compiler's conversion
                                   (standard library only)
    test_values.py numpy [SEED]    T{...}, names, sub-array shapes, '^', and the PEP 3118
                                   codes struct lacks, against NumPy's reading
                                   (np.frombuffer(data, <its PEP 3118 dtype>).tolist());
                                   exits 77 (skipped) when NumPy is missing

Every format is checked three ways: xbuf_format_to_json on each item, xbuf_view_tolist of a
one-dimensional array of 1 to 4 items, and the tolist of one indexed item; the texts must be
exactly json.dumps of the expected values. Floats in the items are often replaced by values
whose shortest text is a tie between two digit strings, long doubles by non-canonical x87
encodings.

Seeded: the seed is printed; pass it as the second argument or in XBUF_SEED to replay a run.
XBUF_VALUE_FORMATS sets the number of random formats (default 5000). Run by CTest with
XBUF_LIB pointing at the built libxbuf.so.
"""

import ctypes
import json
import math
import os
import platform
import random
import re
import struct
import sys
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(__file__))
import xbuf_ctypes as xb  # noqa: E402

SKIP = 77
PART = sys.argv[1] if len(sys.argv) > 1 else "struct"
SEED = int(sys.argv[2] if len(sys.argv) > 2 else os.environ.get("XBUF_SEED", "20260811"), 0)
FORMATS = int(os.environ.get("XBUF_VALUE_FORMATS", "5000"), 0)
# The fixed checks (every half, random floats and doubles, tie pools, long doubles) shrink
# with fewer formats, so that a short run (under valgrind) stays short.
SCALE = min(1.0, FORMATS / 5000)
X87 = platform.machine() in ("x86_64", "AMD64", "i686", "i386") and ctypes.sizeof(
    ctypes.c_longdouble) in (12, 16)

STRUCT_CODES = "xcbB?hHiIlLqQnNefdspP"
STRUCT_PREFIXES = ["", "@", "=", "<", ">", "!"]


class Run:
    """Counts and the first mismatches of one run."""

    def __init__(self, name):
        self.name = name
        self.formats = 0
        self.items = 0
        self.texts = 0
        self.mismatches = 0
        self.shown = 0
        self.ties = 0
        self.floats = 0
        self.x87 = 0
        self.start = time.monotonic()

    def compare(self, what, got, want, fmt, data):
        self.texts += 1
        if got == want:
            return
        self.mismatches += 1
        if self.shown < 12:
            self.shown += 1
            print(f"MISMATCH {what} format {fmt!r} bytes {bytes(data).hex()}\n"
                  f"   xbuf: {got[:400]}\n   want: {want[:400]}")

    def error(self, what, fmt, exc):
        self.compare(what, f"error {exc}", "a value", fmt, b"")

    def finish(self, **extra):
        secs = time.monotonic() - self.start
        more = "".join(f", {k} {v}" for k, v in extra.items())
        print(f"{self.name}: seed {SEED}: {self.formats} formats, {self.items} items, "
              f"{self.texts} texts compared, {self.mismatches} mismatches, "
              + (f"{self.floats} values in float arrays, " if self.floats else "")
              + f"{self.ties} tied floats, "
              f"{self.x87} non-canonical long doubles{more}, "
              f"{secs:.1f} s")
        return 1 if self.mismatches else 0


# ---- Float values whose shortest text is a tie -----------------------------------------------

def shortest_is_tie(x):
    """Whether repr(x) had two equally near candidates: x's exact decimal value has one
    significant digit more than repr's digits, and that digit is a 5."""
    if not math.isfinite(x) or x == 0:
        return False
    mant = repr(abs(x)).split("e")[0].replace(".", "").lstrip("0").rstrip("0")
    exact = Decimal(abs(x)).normalize().as_tuple().digits
    return len(exact) == len(mant) + 1 and exact[-1] == 5


def tie_pools(rng):
    """(half bit patterns, float bit patterns, doubles) whose shortest text is a tie."""
    scan = range(0x10000) if SCALE == 1 else rng.sample(range(0x10000), int(0x10000 * SCALE))
    halves = [h for h in scan if shortest_is_tie(struct.unpack("<e", struct.pack("<H", h))[0])]
    floats = set()
    ties = max(10, int(300 * SCALE))
    while len(floats) < ties:
        b = rng.getrandbits(32)
        if shortest_is_tie(struct.unpack("<f", struct.pack("<I", b))[0]):
            floats.add(b)
    doubles = set()
    # Doubles in [2^50, 2^51) are multiples of 1/4: those ending in .25 and .75 are ties.
    while len(doubles) < ties // 2:
        x = (rng.getrandbits(52) | (1 << 52) | 1) / 4.0
        if shortest_is_tie(x):
            doubles.add(x if rng.random() < 0.5 else -x)
    # Doubles with short significands (widened floats and halves, small decimals).
    while len(doubles) < ties:
        m = rng.getrandbits(rng.randint(1, 30)) | 1
        x = math.ldexp(m, rng.randint(-60, 40))
        if shortest_is_tie(x):
            doubles.add(x)
    return halves, sorted(floats), sorted(doubles)


def x87_bytes(rng, cls):
    """Ten bytes of an x87 extended value of the given encoding class."""
    sign = rng.getrandbits(1) << 15
    frac = rng.getrandbits(63)
    if cls == "normal":
        exp, mant = rng.randint(1, 0x7ffe), frac | 1 << 63
    elif cls == "near double":
        exp, mant = rng.randint(16383 - 1080, 16383 + 1030), frac | 1 << 63
    elif cls == "unnormal":
        exp, mant = rng.randint(1, 0x7ffe), frac if rng.random() < 0.8 else 0
    elif cls == "pseudo-infinity":
        exp, mant = 0x7fff, 0
    elif cls == "pseudo-nan":
        exp, mant = 0x7fff, frac | 1
    elif cls == "pseudo-denormal":
        exp, mant = 0, frac | 1 << 63
    elif cls == "denormal":
        exp, mant = 0, frac
    elif cls == "infinity":
        exp, mant = 0x7fff, 1 << 63
    else:  # nan
        exp, mant = 0x7fff, (1 << 63) | frac | 1
    return struct.pack("<QH", mant, sign | exp)


X87_CLASSES = ["normal", "near double", "unnormal", "pseudo-infinity", "pseudo-nan",
               "pseudo-denormal", "denormal", "infinity", "nan"]
X87_ODD = {"unnormal", "pseudo-infinity", "pseudo-nan", "pseudo-denormal"}


class Filler:
    """Random item bytes, with the values that are hard to render put where the format's
    leaves say floats, long doubles and text are."""

    def __init__(self, rng, run, pools):
        self.rng = rng
        self.run = run
        self.halves, self.floats, self.doubles = pools

    def float_bytes(self, size, order):
        rng = self.rng
        e = "<" if order == "<" else ">"
        r = rng.random()
        if r < 0.35:
            self.run.ties += 1
            if size == 2:
                return struct.pack(e + "H", rng.choice(self.halves))
            if size == 4:
                return struct.pack(e + "I", rng.choice(self.floats))
            return struct.pack(e + "d", rng.choice(self.doubles))
        if r < 0.45:
            x = rng.choice([0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, 1e16, 1e-5,
                            0.1, 123456789.0, 1e22, 2.0 ** -1022])
            code = {2: "e", 4: "f", 8: "d"}[size]
            try:
                return struct.pack(e + code, x)
            except OverflowError:
                return struct.pack(e + code, math.inf)
        return bytes(rng.getrandbits(8) for _ in range(size))

    def fill(self, fmt, data, size, k):
        rng = self.rng
        for off, count, esize, code, order in fmt.leaves():
            for i in range(k):
                for j in range(count):
                    at = i * size + off + j * esize
                    if code in "efd":
                        data[at:at + esize] = self.float_bytes(esize, order)
                    elif code == "Z" and esize in (4, 8, 16):
                        h = esize // 2
                        data[at:at + h] = self.float_bytes(h, order)
                        data[at + h:at + esize] = self.float_bytes(h, order)
                    elif code == "g" and X87:
                        if rng.random() < 0.6:
                            cls = rng.choice(X87_CLASSES)
                            self.run.x87 += cls in X87_ODD
                            data[at:at + 10] = x87_bytes(rng, cls)
                    elif code == "Z" and X87 and esize == 32:
                        for h in (0, 16):
                            cls = rng.choice(X87_CLASSES)
                            self.run.x87 += cls in X87_ODD
                            data[at + h:at + h + 10] = x87_bytes(rng, cls)
                    elif code == "w":
                        n = esize // 4
                        cps = [rng.choice([rng.randint(0, 0x7f), rng.randint(0, 0xffff),
                                           rng.randint(0, 0x10ffff), 0]) for _ in range(n)]
                        if n and rng.random() < 0.5:
                            t = rng.randint(1, n)
                            cps[n - t:] = [0] * t
                        e = "<" if order == "<" else ">"
                        data[at:at + esize] = struct.pack(f"{e}{n}I", *cps)
                    elif code in "sc" and esize and rng.random() < 0.4:
                        # Trailing (and sometimes leading) NULs.
                        z = rng.randint(1, esize)
                        data[at + esize - z:at + esize] = bytes(z)
                        if rng.random() < 0.3:
                            data[at] = 0


# ---- Checks shared by both parts --------------------------------------------------------------

def latin1(v):
    if isinstance(v, bytes):
        return v.decode("latin-1")
    return v


def struct_values(fmt, data, size, i):
    vals = [latin1(v) for v in struct.unpack_from(fmt, data, i * size)]
    return vals[0] if len(vals) == 1 else vals


def check(run, rng, text, f, data, size, k, want_items):
    """xbuf's three renderings of k items against json.dumps of want_items."""
    run.formats += 1
    run.items += k
    for i in range(k):
        item = bytes(data[i * size:(i + 1) * size])
        run.compare("xbuf_format_to_json", f.to_json(item), json.dumps(want_items[i]), text,
                    item)
    if size == 0:
        return
    arr = xb.ndarray(bytes(data), text, [k])
    view = xb.View.of(arr)
    try:
        run.compare("xbuf_view_tolist", view.tolist_json(), json.dumps(want_items), text, data)
        i = rng.randrange(k)
        one = view.index(i)
        try:
            run.compare(f"xbuf_view_tolist of item {i}", one.tolist_json(),
                        json.dumps(want_items[i]), text, data[i * size:(i + 1) * size])
        finally:
            one.close()
    finally:
        view.close()
        arr.close()


# ---- The struct part ------------------------------------------------------------------------

def random_struct_format(rng, prefix):
    native = prefix in ("", "@")
    codes = STRUCT_CODES if native else STRUCT_CODES.translate({ord(c): None for c in "nNP"})
    parts = []
    for _ in range(rng.randint(0, 6)):
        c = rng.choice(codes)
        r = rng.random()
        if r < 0.45:
            count = ""
        elif r < 0.57:
            # struct.unpack fails on '0p' (SystemError: a negative size), so it has no value.
            count = "0" if c != "p" else ""
        elif r < 0.62:
            count = "1"
        else:
            count = str(rng.randint(2, 12 if c in "sp" else 5))
        parts.append(rng.choice(["", "", "", " ", "\t", "  ", "\n"]) + count + c)
    return prefix + "".join(parts) + rng.choice(["", "", "", " "])


def float_texts(run, rng, pools):
    """Every half, and random and tied floats and doubles, as a view's tolist against
    json.dumps of struct.unpack's values."""
    halves, floats, doubles = pools
    many = int(20000 * SCALE)
    hbits = list(range(0x10000)) if SCALE == 1 else sorted(set(halves) | set(
        rng.getrandbits(16) for _ in range(many)))
    cases = [("<e", struct.pack(f"<{len(hbits)}H", *hbits), len(halves))]
    fbits = floats + [rng.getrandbits(32) for _ in range(many)]
    cases.append(("<f", struct.pack(f"<{len(fbits)}I", *fbits), len(floats)))
    dbits = [struct.unpack("<Q", struct.pack("<d", x))[0] for x in doubles]
    dbits += [rng.getrandbits(64) for _ in range(many)]
    dbits += [rng.getrandbits(52) | (rng.randint(1000, 1060) << 52) for _ in range(many // 4)]
    cases.append(("<d", struct.pack(f"<{len(dbits)}Q", *dbits), len(doubles)))
    for fmt, data, ties in cases:
        size = struct.calcsize(fmt)
        n = len(data) // size
        want = [latin1(v[0]) for v in struct.iter_unpack(fmt, data)]
        arr = xb.ndarray(data, fmt, [n])
        view = xb.View.of(arr)
        try:
            got = view.tolist_json()
        finally:
            view.close()
            arr.close()
        run.texts += 1
        run.floats += n
        run.ties += ties
        want_text = json.dumps(want)
        if got != want_text:
            g, w = got.split(", "), want_text.split(", ")
            bad = [(a, b) for a, b in zip(g, w) if a != b]
            run.mismatches += max(len(bad), 1)
            print(f"MISMATCH float texts of {fmt}: {len(bad)} values differ, e.g. {bad[:5]}")


def long_doubles(run, rng):
    """Format 'g' against the C compiler's long double to double conversion, for every x87
    encoding class (canonical and not)."""
    if not X87:
        print("long doubles: not x87 extended precision here; skipped")
        return
    f = xb.Format("g")
    try:
        for cls in X87_CLASSES:
            for _ in range(max(5, int(100 * SCALE))):
                item = x87_bytes(rng, cls) + bytes(rng.getrandbits(8) for _ in range(6))
                want = ctypes.c_longdouble.from_buffer_copy(item).value
                run.items += 1
                run.x87 += cls in X87_ODD
                run.compare(f"long double ({cls})", f.to_json(item), json.dumps(want), "g",
                            item)
    finally:
        f.close()


def struct_part():
    rng = random.Random(SEED)
    run = Run("python.values struct")
    pools = tie_pools(rng)
    fill = Filler(rng, run, pools)
    seen_codes, seen_prefixes = set(), set()
    for n in range(FORMATS):
        prefix = STRUCT_PREFIXES[n % len(STRUCT_PREFIXES)]
        text = random_struct_format(rng, prefix)
        size = struct.calcsize(text)
        try:
            f = xb.Format(text)
        except xb.XbufError as e:
            run.error("parse", text, e)
            continue
        try:
            if f.itemsize() != size:
                run.compare("itemsize", str(f.itemsize()), str(size), text, b"")
                continue
            k = rng.randint(1, 4)
            data = bytearray(rng.getrandbits(8) for _ in range(size * k))
            fill.fill(f, data, size, k)
            want = [struct_values(text, data, size, i) for i in range(k)]
            check(run, rng, text, f, data, size, k, want)
        finally:
            f.close()
        seen_codes.update(c for c in text if c in STRUCT_CODES)
        seen_prefixes.add(prefix)
    float_texts(run, rng, pools)
    long_doubles(run, rng)
    missing = set(STRUCT_CODES) - seen_codes
    if missing or len(seen_prefixes) != len(STRUCT_PREFIXES):
        print(f"the random formats missed codes {sorted(missing)} or prefixes")
        return 1
    return run.finish(**{"tied halves": len(pools[0])})


# ---- The NumPy part -------------------------------------------------------------------------

NP_NATIVE = "? c b B h H i I l L q Q e f d g Zf Zd Zg s w".split()
NP_STANDARD = "? c b B h H i I l L q Q e f d Zf Zd s w".split()
NAMES = ["a", "b", "val", "x_y", "n2", "\u00e9", "Zz", "k9", "name with space"]
AUTO = re.compile(r"f\d+")


class Gen:
    """Random PEP 3118 formats in the order NumPy's reader takes them: [(shape)] [prefix]
    [count] type [:name:], no whitespace."""

    def __init__(self, rng):
        self.rng = rng
        self.mode = "@"

    def prefix(self, p):
        if self.rng.random() < p:
            m = self.rng.choice("@=<>!^")
            self.mode = ">" if m == "!" else m
            return m
        return ""

    def shape(self):
        r = self.rng
        if r.random() < 0.2:
            dims = [r.choice([0, 1, 2, 2, 3]) for _ in range(r.randint(1, 2))]
            return "(" + ",".join(map(str, dims)) + ")"
        return ""

    def item(self, depth, names, allow_pad=True):
        r = self.rng
        out = self.shape()
        out += self.prefix(0.2)
        x = r.random()
        if allow_pad and x < 0.1:
            n = r.randint(1, 4)
            return out + (str(n) if n > 1 else "") + "x"
        if x < 0.3 and depth < 3:
            t = "T{" + self.body(depth + 1) + "}"
            count = r.choice(["", "", "", "", "2", "0"])
        else:
            t = r.choice(NP_NATIVE if self.mode in "@^" else NP_STANDARD)
            if t in ("s", "w"):
                count = r.choice(["", str(r.randint(0, 7))])
            else:
                count = r.choice(["", "", "", "", "", "0", "2", "3"])
        if out.startswith("(") and count == "0":
            count = ""  # NumPy refuses a zero count inside a sub-array shape
        name = ""
        if r.random() < 0.4:
            free = [n for n in NAMES if n not in names]
            if free:
                name = r.choice(free)
                names.add(name)
                name = f":{name}:"
        return out + count + t + name

    def body(self, depth):
        names = set()
        return "".join(self.item(depth, names) for _ in range(self.rng.randint(0, 4)))

    def top(self):
        r = self.rng
        self.mode = "@"
        x = r.random()
        pad = lambda: r.choice(["", "", "x", "2x", "3x"])  # noqa: E731
        if x < 0.4:
            names = set()
            return "".join(self.item(0, names) for _ in range(r.randint(1, 4)))
        if x < 0.75:
            head = pad()
            t = self.prefix(0.3) + "T{" + self.body(1) + "}"
            if r.random() < 0.15:
                t += ":whole:"
            return head + t + pad()
        head = pad()
        return head + self.item(0, set(), allow_pad=False) + pad()


def numpy_part():
    try:
        import numpy as np
    except ImportError as e:
        print(f"python.values numpy: skipped: NumPy is not installed for {sys.executable} ({e})")
        return SKIP
    try:
        from numpy._core._internal import _dtype_from_pep3118
    except ImportError:
        from numpy.core._internal import _dtype_from_pep3118

    def sub(dt):
        """A sub-array dtype's whole shape and element dtype (NumPy nests them)."""
        shape = ()
        while dt.subdtype is not None:
            shape += dt.subdtype[1]
            dt = dt.subdtype[0]
        return shape, dt

    def plain(v, dt):
        """A NumPy value as the JSON-able value json.dumps writes: structs as lists, or as
        objects when a field has a name of its own (NumPy calls the others f0, f1, ...)."""
        if dt.subdtype is not None:
            shape, base = sub(dt)
            a = np.asarray(v)
            if math.prod(shape) == 0:
                a = np.zeros(shape, base)
            return nested(a.reshape(shape), base)
        if dt.names is not None:
            vals = [plain(v[k], dt.fields[n][0]) for k, n in enumerate(dt.names)]
            if any(not AUTO.fullmatch(n) for n in dt.names):
                return dict(zip(dt.names, vals))
            return vals
        kind = dt.kind
        if kind == "b":
            return bool(v)
        if kind in "iu":
            return int(v)
        if kind == "f":
            return float(v)
        if kind == "c":
            return [float(v.real), float(v.imag)]
        if kind == "S":
            return bytes(v).decode("latin-1")
        if kind == "U":
            return str(v)
        raise TypeError(f"unexpected dtype {dt}")

    def nested(a, base):
        if not isinstance(a, np.ndarray):
            return plain(a, base)
        if a.ndim == 0:
            return plain(a[()], base)
        return [nested(a[j], base) for j in range(a.shape[0])]

    def numpy_item(dt, buf, off):
        """np.frombuffer(buf, dt, count=1, offset=off).tolist()[0], made JSON-able; an item
        of no bytes (which frombuffer refuses) as np.zeros holds it."""
        if dt.itemsize == 0:
            if dt.subdtype is not None:
                shape, base = sub(dt)
                return nested(np.zeros(shape, base), base)
            return plain(np.zeros(1, dt)[0], dt)
        x = np.frombuffer(buf, dtype=dt, count=1, offset=off)
        if dt.subdtype is not None:
            return nested(x[0], x.dtype)
        return plain(x[0], dt)

    rng = random.Random(SEED)
    run = Run("python.values numpy")
    pools = tie_pools(rng)
    fill = Filler(rng, run, pools)
    gen = Gen(rng)
    refused = by_struct = structs = 0
    while run.formats < FORMATS:
        text = gen.top()
        try:
            dt = _dtype_from_pep3118(text)
        except Exception:  # NumPy cannot read it (e.g. a prefix at the very end)
            refused += 1
            if refused > FORMATS:
                print("NumPy refuses most generated formats: the generator is broken")
                return 1
            continue
        try:
            f = xb.Format(text)
        except xb.XbufError as e:
            run.formats += 1
            run.error("parse", text, e)
            continue
        try:
            size = f.itemsize()
            if dt.itemsize < size:
                run.compare("itemsize (NumPy's may only add trailing padding)",
                            str(size), str(dt.itemsize), text, b"")
                continue
            k = rng.randint(1, 4)
            data = bytearray(rng.getrandbits(8) for _ in range(size * k))
            fill.fill(f, data, size, k)
            try:
                struct.calcsize(text)
                parsed_by_struct = True
            except (struct.error, UnicodeEncodeError):
                parsed_by_struct = False
            if parsed_by_struct:
                by_struct += 1
                want = [struct_values(text, data, size, i) for i in range(k)]
            else:
                # NumPy's item may be longer (trailing padding at the top level).
                buf = bytes(data) + bytes(dt.itemsize - size)
                want = [numpy_item(dt, buf, i * size) for i in range(k)]
            structs += "T{" in text
            check(run, rng, text, f, data, size, k, want)
        finally:
            f.close()
    if structs < FORMATS // 4 or (X87 and run.x87 == 0) or run.ties == 0:
        print(f"the random formats missed T{{}} ({structs}), tied floats or long doubles")
        return 1
    return run.finish(**{"with T{}": structs, "read by struct": by_struct,
                         "refused by NumPy and skipped": refused})


if __name__ == "__main__":
    if PART not in ("struct", "numpy"):
        sys.exit(f"usage: {sys.argv[0]} struct|numpy [SEED]")
    print(f"seed {SEED} (replay: XBUF_SEED={SEED} or '{os.path.basename(__file__)} {PART} {SEED}')")
    sys.exit(struct_part() if PART == "struct" else numpy_part())
