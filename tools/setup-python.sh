#!/usr/bin/env bash
# Creates or updates the repository's Python environment, .venv, with the packages the tests use
# (tests/python/requirements.txt). CMake prefers .venv/bin/python3 when it exists and no
# Python3_EXECUTABLE is given. Safe to run again: when the requirements, the interpreter and the
# installed packages are what the last run left, it returns at once without asking the network.
#
#   bash tools/setup-python.sh                  # with python3 from PATH
#   PYTHON=python3.12 bash tools/setup-python.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
req="$root/tests/python/requirements.txt"
base=${PYTHON:-python3}
py="$venv/bin/python3"

# A virtual environment whose interpreter no longer starts (its base Python was removed or
# upgraded) is made anew.
if [ -e "$venv" ] && ! "$py" -c '' >/dev/null 2>&1; then
  echo "setup-python: $venv is broken; making it anew"
  rm -rf "$venv"
fi
if [ ! -e "$py" ]; then
  if ! "$base" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "setup-python: '$base' cannot make a virtual environment (on Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
  echo "setup-python: making $venv with $("$base" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
  "$base" -m venv "$venv"
fi

# The installed version of every requirement; fails when one is missing.
versions() {
  "$py" - "$req" <<'PY'
import re, sys
from importlib import metadata
for line in open(sys.argv[1]):
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line.split("#", 1)[0])
    if m:
        print(m.group(1), metadata.version(m.group(1)))
PY
}

# What the last successful install was made from: the requirements and the interpreter.
stamp="$venv/.requirements.sha256"
want=$( { cat "$req"; "$py" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && versions >/dev/null 2>&1; then
  echo "setup-python: $venv is up to date ($(versions | paste -sd, - | sed 's/,/, /g'))"
  exit 0
fi
echo "setup-python: installing tests/python/requirements.txt into $venv"
"$py" -m pip install --disable-pip-version-check --quiet --requirement "$req"
echo "$want" > "$stamp"
echo "setup-python: $(versions | paste -sd, - | sed 's/,/, /g')"
