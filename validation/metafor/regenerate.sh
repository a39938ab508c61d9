#!/bin/sh
# Recompute this peer's pinned values (reference.json) from ../inputs.json. Needs R with the
# packages of README.md; run ../export_inputs.py first when the book's inputs changed.
set -eu
cd "$(dirname "$0")"
Rscript metafor.R
