"""Turning command-line paths into logical keys of a work tree, safely."""

from __future__ import annotations

import os
from pathlib import Path

from qvc.errors import PathError, UsageError
from qvc.quilt.manifest import reserved_name

_NAME_MAX = 255  # bytes in one file or folder name (Linux, macOS)
_PATH_MAX = 4096  # bytes in a whole path (Linux)


def to_key(root: Path, cwd: Path, path: str) -> str:
    """The work-tree-relative key ('' for the root) of ``path`` given relative to ``cwd``.

    Raises PathError if the path leaves the work tree, points into ``.qvc/`` or a folder some
    platform takes for ``.git`` or ``.qvc`` (:func:`reserved_name`), or passes through a
    symbolic link (qvc never follows links, so it never writes outside the tree).
    Raises UsageError for an empty path: it is no name at all, not the current folder (give
    '.' for that), so ``qvc rm ""`` never acts on the whole folder.
    """
    if not path:
        raise UsageError("an empty path names no file",
                         "give a file or folder name; '.' means the current folder")
    if any(len(part.encode("utf-8", "surrogateescape")) > _NAME_MAX
           for part in path.split("/")) or len(path) > _PATH_MAX:
        raise PathError(f"{path[:60]}... is too long a name for the file system",
                        "file and folder names hold at most 255 bytes; check the path")
    absolute = Path(os.path.normpath(cwd / path))
    try:
        rel = absolute.relative_to(root)
    except ValueError:
        raise PathError(f"{path} is outside the work tree {root}",
                        "give paths inside the folder where 'qvc init' ran") from None
    key = rel.as_posix()
    if key == ".":
        return ""
    if key.split("/")[0] == ".qvc":
        raise PathError(f"{path} is inside .qvc/, which qvc never tracks",
                        "qvc keeps its own state there; give paths of your data files")
    if any(reserved_name(part) for part in key.split("/")):
        raise PathError(f"{path} is inside a folder named like .git or .qvc, which qvc never "
                        "tracks", "give paths of your data files")
    current = root
    for part in key.split("/")[:-1]:
        current = current / part
        if current.is_symlink():
            raise PathError(f"{path} passes through the symbolic link {current}",
                            "qvc does not follow links; use the real path")
    return key


def under(key: str, prefix: str) -> bool:
    return not prefix or key == prefix or key.startswith(prefix + "/")
