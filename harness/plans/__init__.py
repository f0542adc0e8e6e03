"""What to run: run configurations, profiles, grids, search spaces and draws, plugins."""
