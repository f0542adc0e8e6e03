"""Statistics on the frames: intervals, paired and best-trial comparisons, fANOVA, the
evidence and the findings, the at-a-glance scores and the per-task summary tables. Imports
the tables room only."""
