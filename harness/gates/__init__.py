"""Speed and numerics against committed references (CI gates)."""
