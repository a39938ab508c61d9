"""Tier analysis: each statistical function against an independent reference (closed form,
quadrature, brute force, simulation)."""
