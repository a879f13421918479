"""Remotes: which registry a command uses, moving data to and from it, what each remote's
``latest`` was when last seen, data behind physical keys, catalog login."""
