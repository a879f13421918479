"""The Quilt package format, pure (stdlib only): manifests, hashes, registry URLs."""
