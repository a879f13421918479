"""The work tree on disk: walking it, .qvcignore rules, path arguments, writing files safely."""
