"""quilt3 8 as a test oracle: qvc commits hash exactly as quilt3 builds, and quilt3 can browse
``.qvc`` as a local registry and fetch every file of every commit back, byte for byte."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Qvc

quilt3 = pytest.importorskip("quilt3")

NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 _-.éüß世界✓😀"
SEED = 20260


def random_name(rng: random.Random) -> str:
    while True:
        name = "".join(rng.choice(NAME_CHARS) for _ in range(rng.randint(1, 12)))
        if name.strip(".") and not name.lower().startswith((".qvc", ".quilt")):
            return name


def generate_tree(root: Path, rng: random.Random, files: int = 30) -> dict[str, bytes]:
    """Random nested files (unicode, spaces, an empty file, one two-part file); keys -> bytes."""
    folders = [""]
    tree: dict[str, bytes] = {}
    while len(tree) < files:
        parent = rng.choice(folders)
        name = random_name(rng)
        key = f"{parent}/{name}" if parent else name
        if key in tree or key in folders or any(k.startswith(key + "/") for k in tree):
            continue
        if rng.random() < 0.2 and key.count("/") < 3:
            folders.append(key)
            continue
        tree[key] = rng.randbytes(rng.choice([0, 1, 17, 700, 5000]))
    tree[rng.choice(list(tree))] = b""
    tree["big/two parts.bin"] = rng.randbytes(8 * 1024 * 1024 + 1)
    for key, data in tree.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)
    return tree


def quilt3_top_hash(root: Path, registry: Path, entry_meta: dict[str, Any], message: str,
                    package_meta: Any = None, has_meta: bool = True) -> str:
    if has_meta:
        pkg = quilt3.Package().set_dir(".", str(root))
        pkg.set_meta(package_meta)
    else:  # set_dir('.') would write "user_meta": null; set() per file leaves it out
        pkg = quilt3.Package()
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            pkg.set(path.relative_to(root).as_posix(), str(path))
    for key, meta in entry_meta.items():
        pkg[key].set_meta(meta)
    return str(pkg.build("oracle/pkg", registry=registry.as_uri(), message=message))


def qvc_commit(qvc: Qvc, root: Path, entry_meta: dict[str, Any], message: str,
               package_meta: Any = None, has_meta: bool = True) -> str:
    qvc("add", ".", cwd=root)
    for key, meta in entry_meta.items():
        qvc("add", key, "--meta", json.dumps(meta))
    args = ["--meta", json.dumps(package_meta)] if has_meta else []
    return qvc("commit", "-m", message, *args).out.strip()


def fetch_all(root: Path, top: str, dest: Path) -> dict[str, bytes]:
    registry = (root / ".qvc").as_uri()
    pkg = quilt3.Package.browse("oracle/pkg", registry=registry, top_hash=top)
    assert pkg.top_hash == top
    pkg.fetch(str(dest) + "/")
    return {p.relative_to(dest).as_posix(): p.read_bytes() for p in dest.rglob("*") if p.is_file()}


def test_random_trees_hash_like_quilt3_and_fetch_back(tmp_path: Path, qvc: Qvc) -> None:
    rng = random.Random(SEED)
    root = tmp_path / "work"
    root.mkdir()
    first = generate_tree(root, rng)
    keys = sorted(first)
    entry_meta: dict[str, Any] = {
        keys[0]: {"rows": 3, "unit": "µm", "ratio": 0.1},
        keys[1]: {"nested": {"b": [1, 2.5, None], "a": "世界"}},
    }
    package_meta = {"source": "oracle ✓", "n": 1, "f": 1.0}
    expected = quilt3_top_hash(root, tmp_path / "reg1", entry_meta, "first ü", package_meta)
    qvc("init", "oracle/pkg", cwd=root)
    top1 = qvc_commit(qvc, root, entry_meta, "first ü", package_meta)
    assert top1 == expected

    # Edit, delete and add files; entry and package metadata carry over to the next commit.
    second = dict(first)
    edited, deleted = keys[0], keys[2]
    second[edited] = b"edited"
    (root / edited).write_bytes(b"edited")
    del second[deleted]
    (root / deleted).unlink()
    second["new file ✓.txt"] = b"new"
    (root / "new file ✓.txt").write_bytes(b"new")
    quilt3_root = tmp_path / "second"
    for key, data in second.items():
        (quilt3_root / key).parent.mkdir(parents=True, exist_ok=True)
        (quilt3_root / key).write_bytes(data)
    expected2 = quilt3_top_hash(quilt3_root, tmp_path / "reg2", entry_meta, "second", package_meta)
    qvc("add", ".", cwd=root)
    assert qvc("commit", "-m", "second").out.strip() == expected2

    # quilt3 reads .qvc as a registry: every commit, latest included, with the original bytes.
    assert fetch_all(root, top1, tmp_path / "out1") == first
    assert fetch_all(root, expected2, tmp_path / "out2") == second
    latest = quilt3.Package.browse("oracle/pkg", registry=(root / ".qvc").as_uri())
    assert latest.top_hash == expected2
    assert latest[edited].meta == entry_meta[edited]
    assert latest.meta == package_meta


def test_commit_without_package_metadata_matches_quilt3(tmp_path: Path, qvc: Qvc) -> None:
    rng = random.Random(SEED + 1)
    root = tmp_path / "work"
    root.mkdir()
    tree = {k: v for k, v in generate_tree(root, rng, files=8).items()}
    expected = quilt3_top_hash(root, tmp_path / "reg", {}, "plain", has_meta=False)
    qvc("init", "oracle/pkg", cwd=root)
    assert qvc_commit(qvc, root, {}, "plain", has_meta=False) == expected
    assert fetch_all(root, expected, tmp_path / "out") == tree


@pytest.mark.parametrize("package_meta", [None, [], "text", {"deep": {"z": 1, "a": -0.0}}])
def test_package_metadata_of_any_json_type(tmp_path: Path, qvc: Qvc, package_meta: Any) -> None:
    root = tmp_path / "work"
    root.mkdir()
    (root / "one.txt").write_text("1\n")
    expected = quilt3_top_hash(root, tmp_path / "reg", {}, "", package_meta)
    qvc("init", "oracle/pkg", cwd=root)
    assert qvc_commit(qvc, root, {}, "", package_meta) == expected


def test_registry_layout_is_what_quilt3_writes(tmp_path: Path, qvc: Qvc) -> None:
    root = tmp_path / "work"
    root.mkdir()
    (root / "f.txt").write_text("f\n")
    qvc("init", "oracle/pkg", cwd=root)
    top = qvc_commit(qvc, root, {}, "m", {"k": 1})
    named = root / ".qvc/.quilt/named_packages/oracle/pkg"
    pointers = sorted(p.name for p in named.iterdir())
    assert pointers[-1] == "latest" and len(pointers) == 2
    assert len(pointers[0]) == 10 and pointers[0].isdigit()
    for name in pointers:
        assert (named / name).read_bytes() == top.encode()  # exactly 64 bytes, no newline
    versions = quilt3.list_package_versions("oracle/pkg", registry=(root / ".qvc").as_uri())
    assert [h for _, h in versions] == [top, top]
