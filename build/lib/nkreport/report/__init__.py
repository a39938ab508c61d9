"""Report: what a reader sees, made from analysis results: figures, tables, glued values and
their formatting, and the escaping that keeps data strings inert text. No computation here.
"""
