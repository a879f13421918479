"""Remotes: which registry a command uses, moving data to and from it, catalog login."""
