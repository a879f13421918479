"""Git integration: the pin file and the dulwich wrapper (the only dulwich import)."""
