"""Tier build: the Sphinx extension, the pre-executor, fingerprints, the architecture, and
builds of temporary copies."""
