"""Story tests of qvc tag: naming commits and using the names as revisions."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Qvc


def test_tag_create_use_list_delete(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    v1 = qvc("commit", "-m", "v1").out.strip()
    (work / "README.md").write_text("# v2\n")
    v2 = qvc("commit", "-a", "-m", "v2").out.strip()
    qvc("tag", "release-1.0", v1[:8])
    qvc("tag", "tip")
    listed = json.loads(qvc("tag", "--list", "--json").out)
    assert [(t["name"], t["top_hash"]) for t in listed] == [("release-1.0", v1), ("tip", v2)]
    assert json.loads(qvc("show", "release-1.0", "--json").out)["top_hash"] == v1
    assert "README.md" in qvc("diff", "release-1.0", "tip").out
    clash = qvc("tag", "tip", v1, ok=False)
    assert clash.code == 6 and "already exists" in clash.err
    qvc("tag", "-f", "tip", v1)
    assert json.loads(qvc("show", "tip", "--json").out)["top_hash"] == v1
    qvc("tag", "-d", "tip")
    assert [t["name"] for t in json.loads(qvc("tag", "--json").out)] == ["release-1.0"]
    assert qvc("show", "tip", ok=False).code == 2
    assert qvc("tag", "-d", "tip", ok=False).code == 2


def test_tag_bad_names_and_revisions(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "v1")
    assert qvc("tag", "../escape", ok=False).code == 2
    assert qvc("tag", "HEAD", ok=False).code == 2
    assert qvc("tag", "x", "nosuchrev", ok=False).code == 2
    assert not any((work / ".qvc" / "tags").iterdir())
