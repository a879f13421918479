"""Settings: user-level and work-tree values, and the versions this user wrote to each
registry."""
