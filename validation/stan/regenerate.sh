#!/bin/sh
# Recompute the Stan pins (reference.json, needs R with rstan; about 2 minutes of sampling after
# the compile) and nkreport's PyMC side (nkreport_mcmc.json). Run from anywhere.
set -eu
cd "$(dirname "$0")"
Rscript stan.R
cd ../.. && python validation/stan/nkreport_fit.py
