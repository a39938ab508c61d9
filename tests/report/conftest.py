"""Tier report: tables, figures, glued values and the escaping of data strings."""
