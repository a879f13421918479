"""qvc demo: the main job end to end on sample data, with a folder registry (no cloud account).

Tracks a sample folder, commits two versions, pushes them to a directory registry, clones the
package back (latest and the first version by top hash) and checks every byte.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from qvc.core.repo import Repo
from qvc.errors import IntegrityError, UsageError
from qvc.git.gitlink import link_work_tree
from qvc.ops import add as add_op
from qvc.ops import clone as clone_op
from qvc.ops import commit as commit_op
from qvc.ops import push as push_op
from qvc.remote.remotes import add_remote, make_spec
from qvc.remote.target import of_spec
from qvc.worktree.ignore import IgnoreRules
from qvc.worktree.treewalk import walk

PACKAGE = "demo/dataset"


@dataclass
class DemoResult:
    folder: Path
    steps: list[tuple[str, str]] = field(default_factory=list)  # (what was done, outcome)

    def note(self, what: str, outcome: str) -> None:
        self.steps.append((what, outcome))


def sample_files(version: int) -> dict[str, bytes]:
    """Deterministic sample data; version 2 edits one file, adds one and removes one."""
    rows = [["id", "species", "length_cm"]] + [
        [str(i), ("setosa", "versicolor", "virginica")[i % 3], f"{4 + (i * 7) % 40 / 10:.1f}"]
        for i in range(200 if version == 1 else 260)
    ]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    files = {
        "README.md": b"# Demo dataset\n\nMeasurements used by the qvc demo.\n",
        "data/measurements.csv": text.getvalue().encode(),
        "data/labels.json": json.dumps({"classes": ["setosa", "versicolor", "virginica"]}).encode(),
        "images/sample.bin": bytes(range(256)) * 64,
    }
    if version == 2:
        del files["data/labels.json"]
        files["data/notes.txt"] = b"Version 2 adds 60 rows.\n"
    return files


def _write(root: Path, files: dict[str, bytes]) -> None:
    for key, data in files.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _check_tree(root: Path, expected: dict[str, bytes], what: str) -> None:
    found = {k: (root / k).read_bytes() for k in walk(root, IgnoreRules(root)).files}
    if found != expected:
        raise IntegrityError(f"{what} does not match the committed files",
                             "this is a bug in qvc; please report it")


def demo(folder: Path) -> DemoResult:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file", "give a new or empty folder: qvc demo DIR")
    if folder.exists() and any(folder.iterdir()):
        raise UsageError(f"{folder} is not empty", "give a new or empty folder: qvc demo DIR")
    folder.mkdir(parents=True, exist_ok=True)
    result = DemoResult(folder)
    work, registry = folder / "dataset", folder / "registry"
    work.mkdir()
    _write(work, sample_files(1))
    repo = Repo.init(work, PACKAGE)
    link_work_tree(repo.root, repo.package)
    result.note(f"qvc init {PACKAGE}", f"tracking {work}")
    add_op.add(repo, ["."], cwd=work)
    first = commit_op.commit(repo, "first version", meta={"source": "qvc demo"})
    result.note('qvc add . && qvc commit -m "first version"', f"top hash {first.top_hash}")
    spec = add_remote(repo, make_spec("origin", str(registry)), default=True)
    pushed = push_op.push(repo, of_spec(spec))
    result.note(f"qvc remote add origin {registry} && qvc push",
                f"{pushed.uploaded} objects uploaded")
    for key in sample_files(1):
        (work / key).unlink()
    _write(work, sample_files(2))
    add_op.add(repo, ["."], cwd=work)
    second = "more rows; notes replace labels"
    commit_op.commit(repo, second)
    pushed = push_op.push(repo, of_spec(spec))
    result.note(f'edit files, qvc add . && qvc commit -m "{second}" && qvc push',
                f"top hash {pushed.top_hash}, {pushed.uploaded} uploaded, {pushed.skipped} reused")
    cloned = clone_op.clone(str(registry), PACKAGE, folder / "clone")
    _check_tree(cloned.root, sample_files(2), "the clone")
    result.note(f"qvc clone {registry} {PACKAGE} clone", "every file identical to version 2")
    old = clone_op.clone(str(registry), PACKAGE, folder / "clone-v1", rev=first.top_hash[:10])
    _check_tree(old.root, sample_files(1), "the clone of version 1")
    result.note(f"qvc clone {registry} {PACKAGE} clone-v1 --rev {first.top_hash[:10]}",
                "version 1 restored byte for byte")
    return result

