"""Tier reference: results against published tables and values pinned from other software."""
