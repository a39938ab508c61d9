#!/bin/sh
# Export the book's inputs, then recompute every peer's pinned values.
set -eu
cd "$(dirname "$0")"
python export_inputs.py
for tool in metafor cmprsk clinfun exactci rbest stan; do
  "./$tool/regenerate.sh"
done
