#!/usr/bin/env bash
# Packaging ships every subpackage: build a wheel, install it into a fresh virtual environment
# outside the checkout (dependencies from this environment, the package only from the wheel),
# and import every module from there.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# built from a copy, so setuptools' build/ folder never lands in the checkout
mkdir "$work/src"
cp -r pyproject.toml README.md LICENSE nkreport "$work/src/"
find "$work/src" -name __pycache__ -prune -exec rm -rf {} +
python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$work/wheel" "$work/src"
python -m venv --system-site-packages "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --no-deps --force-reinstall "$work"/wheel/nkreport-*.whl
expected=$(find nkreport -name "*.py" | wc -l)
cd "$work"
"$work/venv/bin/python" - "$work/venv" "$expected" <<'PY'
import importlib
import pkgutil
import sys

import nkreport

venv, expected = sys.argv[1], int(sys.argv[2])
assert nkreport.__file__.startswith(venv), f"nkreport imported from {nkreport.__file__}, not the wheel"
names = ["nkreport"] + [m.name for m in pkgutil.walk_packages(nkreport.__path__, "nkreport.")]
for name in names:
    importlib.import_module(name)
assert len(names) == expected, f"the wheel has {len(names)} modules, the checkout {expected}"
print(f"wheel: {len(names)} modules imported from {venv}")
PY
