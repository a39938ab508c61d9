"""Tier data: the data files, their readers and validation (every refusal names file, line, field and a fix)."""
