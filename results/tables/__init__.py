"""From the storage to frames: the records of runs and trials, and the looked-inside arrays
(``inside``) as tables. The first room of ``results``: it imports no other."""
