"""Operating-system mechanics: durable writes, the repository lock, forked workers, crash points."""
