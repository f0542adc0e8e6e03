"""From storage to conclusions, in four rooms in the order of the flow: ``tables`` (frames
from the storage), ``analysis`` (statistics, evidence, findings), ``figures``, ``rendering``
(the reports). A room imports only the rooms before it.

Reads the storage only; never trains or imports cells.
"""
