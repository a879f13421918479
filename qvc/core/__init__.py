"""The .qvc/ repository: objects, the index (and the work tree compared with it), commits and
history, the next commit's manifest, and moving HEAD."""
