#!/bin/sh
# Recompute this peer's pinned values (reference.json) from ../inputs.json. Needs R with RBesT
# (see README.md); run ../export_inputs.py first when the book's inputs changed. About 2 minutes.
set -eu
cd "$(dirname "$0")"
Rscript rbest.R
