"""From storage to conclusions: frames, statistics, findings, plots and the report.

Reads the storage only; never trains or imports cells.
"""
