"""Git integration: the pin file, the dulwich wrapper (the only dulwich import) and a probe
for a git work tree that needs no dulwich."""
