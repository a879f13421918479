"""The .qvc/ repository: objects, the index, commits and history, and moving HEAD."""
