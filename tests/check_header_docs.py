"""Checks that every function declared in include/xbuf.h has a doc comment that starts with a
one-line \\brief and states its thread safety, and its errors (or that it never fails, or what it
returns); that every macro the header defines has the XBUF_ prefix (a user's INT or BOOL must
never collide) and stands inside the include guard; and that the header's sections come in
topic order, each holding its own structs and functions."""

import re
import sys

header = open(sys.argv[1]).read()
decls = re.findall(r"/\*\*(.*?)\*/\s*\n([^;{}]*?\b(xbuf_\w+)\s*\([^;]*\);)", header, re.S)
names = set(re.findall(r"^[a-z][\w *]*?\b(xbuf_\w+)\s*\(", header, re.M))
problems = []
documented = set()
for doc, _, name in decls:
    documented.add(name)
    if "Thread" not in doc:
        problems.append(f"{name}: no thread safety")
    if not any(k in doc for k in ("Errors", "Never fails", "Returns")):
        problems.append(f"{name}: no errors or returns")
# Each function's own doc comment: the last one before its declaration.
own_docs = {
    m.group(2): m.group(1)
    for m in re.finditer(r"/\*\*((?:(?!\*/).)*)\*/\n[^;{}/#]*?\b(xbuf_\w+)\s*\(", header, re.S)
}
for name in sorted(names):
    lines = [l.strip() for l in own_docs.get(name, "").strip("\n").split("\n")]
    if not lines[0].startswith("* \\brief ") or (len(lines) > 1 and lines[1] != "*"):
        problems.append(f"{name}: the doc does not start with a one-line \\brief")
# Every other top-level doc comment (types, constants, macros) too.
for doc in re.findall(r"^/\*\*((?:(?!\*/).)*)\*/", header, re.M | re.S):
    if not re.match(r"\s*(\* )?\\brief [^\n]*(\n \*\n|\n $|$)", doc):
        problems.append("a doc comment does not start with a one-line \\brief: " + doc.strip()[:60])
for name in sorted(names - documented):
    problems.append(f"{name}: no doc comment")
for name in re.findall(r"^\s*#\s*define\s+(\w+)", header, re.M):
    if not name.startswith("XBUF_"):
        problems.append(f"macro {name}: not in the XBUF_ namespace")
guard_end = header.rfind("#endif  /* XBUF_H */")
if guard_end < 0 or re.search(r"^\s*#\s*define", header[guard_end:], re.M):
    problems.append("a macro stands outside the include guard")

# The sections, in topic order, and where some items must be: each struct beside its
# functions.
SECTIONS = [
    "Errors and versions",
    "Objects and their types",
    "Requests and `xbuf_bufferinfo`",
    "Exporter procs",
    "Built-in exporters",
    "Formats",
    "Views",
    "Copies",
    "DLPack",
    "The Arrow C Data Interface",
]
PLACES = {
    "Errors and versions": ["XBUF_OK", "XBUF_ERR_PANIC", "xbuf_status_str", "xbuf_last_error_message"],
    "Objects and their types": ["xbuf_object", "xbuf_getbufferproc", "xbuf_type", "XBUF_TYPE_SIZE_MIN", "xbuf_object_new", "xbuf_exclusive_end"],
    "Requests and `xbuf_bufferinfo`": ["XBUF_FULL_RO", "xbuf_bufferinfo", "XBUF_BUFFERINFO_INIT", "xbuf_get_buffer", "xbuf_release"],
    "Exporter procs": ["xbuf_fill_info"],
    "Built-in exporters": ["XBUF_MMAP_READ", "xbuf_wrap_destructor", "xbuf_wrap_new", "xbuf_ndarray_new"],
    "Formats": ["xbuf_format", "xbuf_value", "XBUF_VALUE_INT", "xbuf_format_parse", "xbuf_format_decode"],
    "Views": ["xbuf_range", "XBUF_SLICE_OMIT", "xbuf_view_new", "xbuf_view_slice"],
    "Copies": ["xbuf_copy", "xbuf_set_max_threads"],
    "DLPack": ["XBUF_DLPACK_UNMARKED_READONLY", "xbuf_dlpack_export"],
    "The Arrow C Data Interface": ["XBUF_ARROW_IGNORE_VALIDITY", "xbuf_arrow_import"],
}
heads = [(m.start(), m.group(1)) for m in re.finditer(r"^/\* =+\n \* ([^:\n]+)", header, re.M)]
titles = [t for _, t in heads]
if titles != SECTIONS:
    problems.append(f"sections {titles}, expected {SECTIONS}")
else:
    bounds = [p for p, _ in heads] + [len(header)]
    for k, title in enumerate(SECTIONS):
        part = header[bounds[k]:bounds[k + 1]]
        for item in PLACES[title]:
            if not re.search(r"(#define|typedef struct|\(\*|[ *])" + item + r"\b", part):
                problems.append(f"{item}: not in the section {title!r}")
print(f"{len(names)} functions, {len(documented)} documented, {len(titles)} sections")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"{len(names)} passed, 0 failed")
