"""Tier book: the built HTML and PDF as readers meet them (build the book first)."""
