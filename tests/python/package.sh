#!/usr/bin/env bash
# Builds and installs the Python package (python/) into the interpreter's environment with
# pip, then runs its pytest suite (python/tests). Exits 77 (skipped) with the reason when the
# environment lacks maturin or pytest (bash tools/setup-python.sh installs both).
#
#   bash tests/python/package.sh PYTHON [CARGO]
#
# The extension is built by cargo in target/python, which is kept between runs, so an
# unchanged package rebuilds in seconds.
set -euo pipefail
py=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
for mod in maturin pytest numpy; do
  if ! "$py" -c "import $mod" >/dev/null 2>&1; then
    echo "skipped: $mod is not installed for $py (bash tools/setup-python.sh installs it)"
    exit 77
  fi
done
# maturin's build backend runs the maturin and cargo programs: the environment's bin first.
export PATH="$(dirname "$py"):${2:+$(dirname "$2"):}$PATH"
export CARGO_TARGET_DIR="$root/target/python"
"$py" -m pip install --no-build-isolation --no-deps --force-reinstall --disable-pip-version-check \
  --quiet "$root/python"
# From a directory outside the source tree, so that `import xbuf` finds the installed package;
# -rs prints the reason of every skipped test (PyTorch, Cython, pyarrow missing).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$py" -m pytest -q -rs -p no:cacheprovider "$root/python/tests"
