"""Tier cli: the nkreport command, its exit codes, messages and JSON output."""
