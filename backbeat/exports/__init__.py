"""Finance exports core: the monthly files finance reads and their expectations (plain Python)."""
