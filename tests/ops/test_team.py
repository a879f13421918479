"""Story tests of several clones of one registry (a folder and a moto bucket): the history
every clone agrees on, registries without recorded history, forced pushes, and damaged or
hostile commit records."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from qvc.core.repo import Commit
from tests.conftest import Qvc
from tests.ops.test_push import commit_all, files

NAME = "test/pkg"
HISTORY = ".quilt/qvc/history/test/pkg"


@pytest.fixture(params=["folder", "s3"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "folder":
        return str(tmp_path / "registry")
    return str(request.getfixturevalue("bucket"))


def start(qvc: Qvc, tmp_path: Path, registry: str, *people: str) -> list[Path]:
    """The first person publishes v1 to ``registry``; the others clone it."""
    first = tmp_path / people[0]
    first.mkdir()
    (first / "a.csv").write_text("a\n1\n")
    qvc("init", NAME, cwd=first)
    commit_all(qvc, first, "v1")
    qvc("remote", "add", "origin", registry, cwd=first)
    qvc("push", cwd=first)
    for person in people[1:]:
        qvc("clone", registry, NAME, person, cwd=tmp_path)
    return [tmp_path / p for p in people]


def graph(qvc: Qvc, work: Path) -> list[tuple[str, str, Any]]:
    """(commit id, top hash, parent top hash) of every commit in HEAD's history."""
    return [(c["commit"], c["top_hash"], c["parent"])
            for c in json.loads(qvc("log", "--json", cwd=work).out)]


def test_every_clone_and_a_fresh_one_show_the_same_parents(qvc: Qvc, tmp_path: Path,
                                                           registry: str) -> None:
    alice, bob, carol = start(qvc, tmp_path, registry, "alice", "bob", "carol")
    (bob / "b.csv").write_text("b\n2\n")
    commit_all(qvc, bob, "v2 by bob")
    qvc("push", cwd=bob)
    qvc("pull", cwd=alice)
    (alice / "a.csv").write_text("a\n3\n")
    commit_all(qvc, alice, "v3 by alice")
    qvc("push", cwd=alice)
    # the content goes back to v1's state with v1's message: the same top hash as v1
    (alice / "a.csv").write_text("a\n1\n")
    (alice / "b.csv").unlink()
    back = commit_all(qvc, alice, "v1")
    qvc("push", cwd=alice)
    for clone in (bob, carol):
        qvc("pull", cwd=clone)
    qvc("clone", registry, NAME, "fresh", cwd=tmp_path)
    expected = graph(qvc, alice)
    assert len(expected) == 4 and expected[0][1] == back == expected[-1][1]
    for clone in (bob, carol, tmp_path / "fresh"):
        assert graph(qvc, clone) == expected, clone.name
        assert files(clone) == files(alice)
    assert not any(c.get("inferred_parent")
                   for c in json.loads(qvc("log", "--json", cwd=carol).out))


def test_registry_without_recorded_history_clones_with_inferred_parents(
        qvc: Qvc, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    alice, = start(qvc, tmp_path, str(registry), "alice")
    (alice / "a.csv").write_text("a\n2\n")
    commit_all(qvc, alice, "v2")
    qvc("push", cwd=alice)
    shutil.rmtree(registry / ".quilt/qvc")  # as an older qvc left it
    qvc("clone", str(registry), NAME, "bob", cwd=tmp_path)
    log = json.loads(qvc("log", "--json", cwd=tmp_path / "bob").out)
    assert [c["top_hash"] for c in log] == [c[1] for c in graph(qvc, alice)]
    assert log[0]["inferred_parent"] and log[0]["parent"] == log[1]["top_hash"]
    assert "inferred from the registry's pointer order" in qvc("log", cwd=tmp_path / "bob").out
    assert files(tmp_path / "bob") == files(alice)


def test_a_clone_made_before_history_was_recorded_fast_forwards_onto_it(
        qvc: Qvc, tmp_path: Path, registry: str) -> None:
    alice, bob = start(qvc, tmp_path, registry, "alice", "bob")
    (alice / "a.csv").write_text("a\n2\n")
    commit_all(qvc, alice, "v2")
    qvc("push", cwd=alice)
    qvc("pull", cwd=bob)
    assert graph(qvc, bob) == graph(qvc, alice)
    # bob's clone as an older qvc made it: stand-ins with parents from pointer order
    if registry.startswith("s3://"):
        for key in registry_keys(registry, ".quilt/qvc/"):
            delete_key(registry, key)
    else:
        shutil.rmtree(Path(registry) / ".quilt/qvc")
    qvc("clone", registry, NAME, "carol", cwd=tmp_path)
    carol = tmp_path / "carol"
    assert graph(qvc, carol) != graph(qvc, alice)
    (alice / "a.csv").write_text("a\n3\n")
    commit_all(qvc, alice, "v3")
    qvc("push", cwd=alice)  # records alice's whole history again
    fetched = qvc("fetch", cwd=carol)
    assert "rewritten" not in fetched.out
    assert json.loads(qvc("status", "--json", cwd=carol).out)["remote"]["state"] == "behind"
    qvc("pull", cwd=carol)
    assert graph(qvc, carol) == graph(qvc, alice) and files(carol) == files(alice)


def registry_keys(bucket: str, prefix: str) -> list[str]:
    import boto3

    client = boto3.client("s3")
    found = client.list_objects_v2(Bucket=bucket[5:], Prefix=prefix).get("Contents", [])
    return [item["Key"] for item in found]


def delete_key(bucket: str, key: str) -> None:
    import boto3

    boto3.client("s3").delete_object(Bucket=bucket[5:], Key=key)


def test_quilt3_versions_get_inferred_parents_until_qvc_records_them(
        qvc: Qvc, tmp_path: Path, bucket: str) -> None:
    quilt3 = pytest.importorskip("quilt3")
    source = tmp_path / "source"
    source.mkdir()
    for n in (1, 2):
        (source / "data.csv").write_text(f"x\n{n}\n")
        pkg = quilt3.Package().set_dir(".", str(source))
        pkg.push("q3/pkg", registry=bucket, message=f"quilt3 v{n}", force=True)
    qvc("clone", bucket, "q3/pkg", "bob", cwd=tmp_path)
    bob = tmp_path / "bob"
    log = json.loads(qvc("log", "--json", cwd=bob).out)
    assert [c["message"] for c in log] == ["quilt3 v2", "quilt3 v1"]
    assert log[0]["inferred_parent"] and log[0]["parent"] == log[1]["top_hash"]
    (bob / "more.csv").write_text("more\n")
    commit_all(qvc, bob, "v3 by qvc")
    qvc("push", cwd=bob)  # records bob's whole history, inferred parents included
    qvc("clone", bucket, "q3/pkg", "carol", cwd=tmp_path)
    assert graph(qvc, tmp_path / "carol") == graph(qvc, bob)
    assert quilt3.Package.browse("q3/pkg", registry=bucket).top_hash == graph(qvc, bob)[0][1]


def test_forced_push_over_a_pushed_commit_is_reported_and_pull_deletes_nothing(
        qvc: Qvc, tmp_path: Path, registry: str) -> None:
    alice, bob = start(qvc, tmp_path, registry, "alice", "bob")
    qvc("pull", cwd=alice)
    (bob / "b2.csv").write_text("bob's work\n")
    commit_all(qvc, bob, "b2")
    qvc("push", cwd=bob)
    (alice / "a2.csv").write_text("alice's work\n")
    commit_all(qvc, alice, "a2")
    assert qvc("push", cwd=alice, ok=False).code == 6
    qvc("push", "--force", cwd=alice)
    before, head = files(bob), graph(qvc, bob)
    fetched = qvc("fetch", cwd=bob)
    assert "origin was rewritten (a forced push?): 1 local commit(s) are not in it" in fetched.out
    assert json.loads(qvc("fetch", "--json", cwd=bob).out)["rewritten"] == 1
    status = qvc("status", cwd=bob).out
    assert "was rewritten" in status and "diverged" in status and "Behind" not in status
    assert json.loads(qvc("status", "--json", cwd=bob).out)["remote"]["state"] == "diverged"
    refused = qvc("pull", "--ff-only", cwd=bob, ok=False)
    assert refused.code == 6 and "diverged" in refused.err and "Fast-forward" not in refused.out
    assert files(bob) == before and graph(qvc, bob) == head
    merged = qvc("pull", cwd=bob)  # merges: the commit alice's forced push dropped stays
    assert "Fast-forward" not in merged.out
    assert (bob / "b2.csv").read_text() == "bob's work\n"
    assert (bob / "a2.csv").read_text() == "alice's work\n"
    newest = json.loads(qvc("log", "--json", cwd=bob).out)[0]
    assert len(newest["parents"]) == 2
    qvc("push", cwd=bob)  # a fast-forward of alice's rewritten history
    qvc("pull", cwd=alice)
    assert (alice / "b2.csv").read_text() == "bob's work\n"


def test_pull_after_a_rolled_back_registry_merges_and_keeps_local_work(
        qvc: Qvc, tmp_path: Path) -> None:
    registry = str(tmp_path / "registry")
    alice, bob = start(qvc, tmp_path, registry, "alice", "bob")
    (alice / "a.csv").write_text("a\n2\n")
    commit_all(qvc, alice, "v2")
    qvc("push", cwd=alice)
    qvc("pull", cwd=bob)
    (bob / "mine.csv").write_text("mine\n")
    commit_all(qvc, bob, "bob's")
    qvc("push", cwd=bob)
    # alice rolls the registry back to v1 and then pushes another line of history
    qvc("checkout", graph(qvc, alice)[1][1][:12], cwd=alice)
    (alice / "other.csv").write_text("other\n")
    commit_all(qvc, alice, "other line")
    qvc("push", "--force", cwd=alice)
    refused = qvc("pull", "--ff-only", cwd=bob, ok=False)
    assert refused.code == 6 and (bob / "mine.csv").exists()
    qvc("pull", cwd=bob)
    assert (bob / "mine.csv").read_text() == "mine\n"
    assert (bob / "other.csv").read_text() == "other\n"


# damaged and hostile records -----------------------------------------------------------------


def put_record(registry: Path, name: str, data: bytes) -> None:
    (registry / HISTORY / name).write_bytes(data)


def test_damaged_and_hostile_records_are_refused(qvc: Qvc, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    alice, = start(qvc, tmp_path, str(registry), "alice")
    (alice / "a.csv").write_text("a\n2\n")
    commit_all(qvc, alice, "v2")
    qvc("push", cwd=alice)
    genuine = graph(qvc, alice)
    head_id, parent_id = genuine[0][0], genuine[1][0]
    head_bytes = (registry / HISTORY / head_id).read_bytes()
    put_record(registry, "f" * 64, head_bytes)  # a true record under a wrong name
    selfish = Commit(genuine[0][1], "e" * 64, 1, "mallory", "names itself")
    put_record(registry, "e" * 64, selfish.encode())
    junk = b"not json at all"
    put_record(registry, hashlib.sha256(junk).hexdigest(), junk)
    nowhere = Commit("d" * 64, head_id, 2, "mallory", "a version with no manifest")
    put_record(registry, nowhere.id, nowhere.encode())
    put_record(registry, "not-a-commit-id", b"{}")
    cloned = qvc("clone", str(registry), NAME, "bob", cwd=tmp_path)
    assert cloned.err.count("refused commit record") >= 3
    bob = tmp_path / "bob"
    assert graph(qvc, bob) == genuine and files(bob) == files(alice)
    refused = json.loads(qvc("fetch", "--json", cwd=bob).out)["refused"]
    assert {r["commit"] for r in refused} >= {"f" * 64, "e" * 64, nowhere.id}
    assert parent_id in {c[0] for c in graph(qvc, bob)}


def test_a_damaged_record_leaves_its_versions_with_inferred_parents(qvc: Qvc,
                                                                    tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    alice, = start(qvc, tmp_path, str(registry), "alice")
    for n in (2, 3):
        (alice / "a.csv").write_text(f"a\n{n}\n")
        commit_all(qvc, alice, f"v{n}")
        qvc("push", cwd=alice)
    genuine = graph(qvc, alice)
    put_record(registry, genuine[1][0], b'{"damaged": true}')  # v2's record
    qvc("clone", str(registry), NAME, "bob", cwd=tmp_path)
    bob = tmp_path / "bob"
    log = json.loads(qvc("log", "--json", cwd=bob).out)
    assert [c["top_hash"] for c in log] == [c[1] for c in genuine]
    assert log[-1]["commit"] == genuine[-1][0]  # v1 keeps its record
    assert log[0]["inferred_parent"] and log[1]["inferred_parent"]
    assert files(bob) == files(alice)
    assert json.loads(qvc("status", "--json", cwd=bob).out)["clean"]
