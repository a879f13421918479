"""The index file (checked, and readable in its earlier JSON form) and commits that reuse the
parent's manifest rows (same top hash as building every row)."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

from qvc.core.index import Index
from tests.conftest import Qvc


def _status(qvc: Qvc, cwd: Path) -> dict[str, object]:
    result: dict[str, object] = json.loads(qvc("status", "--json", cwd=cwd).out)
    return result


def _commit(qvc: Qvc, cwd: Path, *args: str) -> str:
    top: str = json.loads(qvc("commit", "--json", *args, cwd=cwd).out)["top_hash"]
    return top


def test_a_damaged_index_is_reported_not_misread(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    index = work / ".qvc" / "index"
    data = bytearray(index.read_bytes())
    data[-40] ^= 0x01  # one flipped bit inside a digest
    index.write_bytes(bytes(data))
    result = qvc("status", cwd=work, ok=False)
    assert result.code == 3
    assert "index" in result.err and "damaged" in result.err


def test_an_index_of_the_json_format_is_still_read(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    _commit(qvc, work, "-m", "one")
    (work / "data" / "values.csv").write_text("a,b\n3,4\n")
    qvc("add", "data/values.csv", cwd=work)
    loaded = Index.load(work / ".qvc" / "index")
    rows = {key: list(row) for key, row in loaded.rows.items()}
    old_format = {"format": 1, "head": loaded.head, "rows": rows}
    (work / ".qvc" / "index").write_text(json.dumps(old_format))
    status = _status(qvc, work)
    assert status["staged"] == {"added": [], "modified": ["data/values.csv"], "deleted": []}
    assert status["modified"] == [] and status["untracked"] == []


def test_a_recommit_equals_a_commit_built_from_scratch(work: Path, qvc: Qvc,
                                                       tmp_path: Path) -> None:
    for i in range(30):
        (work / "data" / f"f{i:02d}.txt").write_text(f"file {i}\n")
    qvc("add", ".", cwd=work)
    _commit(qvc, work, "-m", "one", "--meta", '{"k": 1}')
    (work / "data" / "f07.txt").write_text("edited\n")
    (work / "data" / "f20.txt").unlink()
    (work / "data" / "g.txt").write_text("new\n")
    qvc("add", ".", cwd=work)
    spliced = _commit(qvc, work, "-m", "two")
    (work / "README.md").write_text("changed\n")
    again = _commit(qvc, work, "-a", "-m", "three")

    fresh = tmp_path / "fresh"
    shutil.copytree(work, fresh, ignore=shutil.ignore_patterns(".qvc"))
    qvc("init", "test/pkg", cwd=fresh)
    qvc("add", ".", cwd=fresh)
    assert _commit(qvc, fresh, "-m", "three", "--meta", '{"k": 1}') == again
    assert spliced != again
    assert qvc("verify", cwd=work).code == 0
    assert _status(qvc, work)["clean"] is True


def test_a_damaged_parts_cache_costs_time_not_correctness(work: Path, qvc: Qvc,
                                                           tmp_path: Path) -> None:
    qvc("add", ".", cwd=work)
    _commit(qvc, work, "-m", "one")
    for cached in (work / ".qvc" / "cache" / "parts").iterdir():
        cached.write_bytes(cached.read_bytes().replace(b"deep", b"DEEP"))
    (work / "README.md").write_text("changed\n")
    top = _commit(qvc, work, "-a", "-m", "two")

    fresh = tmp_path / "fresh"
    shutil.copytree(work, fresh, ignore=shutil.ignore_patterns(".qvc"))
    qvc("init", "test/pkg", cwd=fresh)
    qvc("add", ".", cwd=fresh)
    assert _commit(qvc, fresh, "-m", "two") == top


def test_nothing_to_commit_is_decided_from_the_index(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    _commit(qvc, work, "-m", "one", "--meta", '{"k": 1}')
    assert qvc("commit", "-m", "again", cwd=work, ok=False).code == 5
    assert qvc("commit", "-m", "same meta", "--meta", '{"k": 1}', cwd=work, ok=False).code == 5
    qvc("commit", "-m", "new meta", "--meta", '{"k": 2}', cwd=work)


def test_a_recommit_copies_the_parents_rows_instead_of_building_them(work: Path, qvc: Qvc,
                                                                     tmp_path: Path) -> None:
    from qvc.core import splice
    from qvc.core.repo import Repo

    for i in range(20):
        (work / "data" / f"f{i:02d}.txt").write_text(f"file {i}\n")
    qvc("add", ".", cwd=work)
    first = _commit(qvc, work, "-m", "one")
    (work / "data" / "f03.txt").write_text("edited\n")
    (work / "data" / "f11.txt").unlink()
    (work / "data" / "g.txt").write_text("new\n")
    qvc("add", ".", cwd=work)
    repo = Repo(work)
    index = repo.load_index()
    header = {"version": "v0", "message": "two"}
    parent_header = json.loads((work / ".qvc/.quilt/packages" / first).read_bytes().split(b"\n")[0])
    base = "file://" + str(repo.objects.root.resolve()) + "/"
    spliced, full = tmp_path / "spliced", tmp_path / "full"
    top = splice._splice(repo, index, header, base, first, parent_header, spliced,
                         tmp_path / "spliced.parts")
    assert top is not None  # the cache checked out: no row was rebuilt
    assert top == splice._full(repo, index, header, base, full, tmp_path / "full.parts")
    assert spliced.read_bytes() == full.read_bytes()
    assert (tmp_path / "spliced.parts").read_bytes() == (tmp_path / "full.parts").read_bytes()


def test_an_index_of_format_2_is_still_read(work: Path, qvc: Qvc) -> None:
    """Format 2 kept HEAD-less rows as nulls in the sparse part and had no heads column."""
    from qvc.core import indexfile

    qvc("add", ".", cwd=work)
    _commit(qvc, work, "-m", "one")
    (work / "data" / "values.csv").write_text("a,b\n3,4\n")
    (work / "new.txt").write_text("new\n")
    qvc("add", ".", cwd=work)
    cols = indexfile.loads((work / ".qvc" / "index").read_bytes())
    heads: dict[int, object] = {i: None for i, c in enumerate(cols.hcodes)
                                if c == indexfile.ABSENT}
    heads.update(cols.heads)
    keys = "\n".join(cols.keys).encode()
    sparse = json.dumps({"meta": cols.metas, "head": heads, "staged": cols.others}).encode()
    header = json.dumps({"head": cols.head, "n": len(cols.keys), "byteorder": sys.byteorder,
                         "lengths": [len(keys), len(sparse)]}).encode()
    body = b"".join([header, b"\n", keys, cols.stats.values.tobytes(), cols.sizes.tobytes(),
                     bytes(cols.types), bytes(cols.digests), sparse])
    (work / ".qvc" / "index").write_bytes(b"qvc-index 2\n" + hashlib.sha256(body).digest() + body)
    status = _status(qvc, work)
    assert status["staged"] == {"added": ["new.txt"], "modified": ["data/values.csv"],
                                "deleted": []}
    assert status["modified"] == [] and status["untracked"] == []
    qvc("commit", "-m", "two", cwd=work)
    assert _status(qvc, work)["clean"] is True


def test_rows_staged_out_of_walk_order_are_saved_in_walk_order(tmp_path: Path) -> None:
    from qvc.core.indexfile import Version
    from qvc.sysio.filestat import FileStat

    index = Index()
    for key in ("b/x.txt", "a.txt", "b-c.txt", "a/z.txt"):
        index.stage(key, Version(1, "SHA256", "00" * 32, {}), FileStat(1, 1, 1, 1))
    walk_order = ["a/z.txt", "a.txt", "b/x.txt", "b-c.txt"]
    assert [k for k, _ in index.staged_items()] == walk_order
    assert not index.untouched()
    index.save(tmp_path / "index")
    loaded = Index.load(tmp_path / "index")
    assert loaded.base.keys == walk_order and loaded.untouched()
    assert loaded.staged_changes() == (sorted(walk_order), [], [])
