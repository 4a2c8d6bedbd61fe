"""Checks that every function declared in include/xbuf.h has a doc comment that states its
thread safety, and its errors (or that it never fails, or what it returns), and that every
macro the header defines has the XBUF_ prefix (a user's INT or BOOL must never collide)."""

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
for name in sorted(names - documented):
    problems.append(f"{name}: no doc comment")
for name in re.findall(r"^\s*#\s*define\s+(\w+)", header, re.M):
    if not name.startswith("XBUF_"):
        problems.append(f"macro {name}: not in the XBUF_ namespace")
print(f"{len(names)} functions, {len(documented)} documented")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"{len(names)} passed, 0 failed")
