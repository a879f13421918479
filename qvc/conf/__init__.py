"""Settings: user-level and work-tree values, and remembered registries."""
