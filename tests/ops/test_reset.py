"""Story tests of qvc reset, restore, reflog, log --all --graph and status's "older version":
each command's effect on HEAD, the index, the work tree and status, with real files."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from qvc.core.repo import Commit, Repo
from tests.conftest import Qvc

NOTHING = {"added": [], "modified": [], "deleted": []}


def status(qvc: Qvc) -> dict[str, Any]:
    return json.loads(qvc("status", "--json").out)  # type: ignore[no-any-return]


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and ".qvc" not in p.relative_to(root).parts}


def history(work: Path, qvc: Qvc) -> tuple[str, str]:
    """Two commits: "one" (the fixture's files), then "two" (README changed, new.txt added).
    Returns their top hashes."""
    qvc("add", ".", cwd=work)
    one = qvc("commit", "-m", "one").out.strip()
    (work / "README.md").write_text("# two\n")
    (work / "new.txt").write_text("new in two\n")
    qvc("add", ".")
    two = qvc("commit", "-m", "two").out.strip()
    return one, two


def head(qvc: Qvc) -> str:
    return str(status(qvc)["head"])


# reset ----------------------------------------------------------------------------------------


def test_soft_reset_moves_head_only_and_keeps_what_is_staged(work: Path, qvc: Qvc) -> None:
    one, two = history(work, qvc)
    (work / "staged.txt").write_text("staged before the reset\n")
    qvc("add", "staged.txt")
    before = files(work)
    out = qvc("reset", "--soft", "HEAD~1").out
    assert one[:12] in out and two[:12] in out
    st = status(qvc)
    assert st["head"] == one
    assert st["staged"] == {"added": ["new.txt", "staged.txt"], "modified": ["README.md"],
                            "deleted": []}
    assert st["modified"] == st["deleted"] == st["untracked"] == []
    assert files(work) == before
    qvc("commit", "-m", "two again")  # the index commits as it stood: two plus staged.txt
    assert sorted(e["logical_key"] for e in json.loads(qvc("ls", "--json").out)) == [
        "README.md", "data/nested/deep.txt", "data/values.csv", "new.txt", "staged.txt"]
    assert status(qvc)["clean"]


def test_mixed_reset_unstages_and_leaves_files(work: Path, qvc: Qvc) -> None:
    one, _ = history(work, qvc)
    (work / "data" / "values.csv").write_text("a,b\n9,9\n")
    qvc("add", "data/values.csv")
    before = files(work)
    qvc("reset", one[:8])  # --mixed is the default
    st = status(qvc)
    assert st["head"] == one and st["staged"] == NOTHING
    assert st["modified"] == ["README.md", "data/values.csv"]
    assert st["untracked"] == ["new.txt"]
    assert files(work) == before
    index = Repo(work).load_index()  # unchanged versions keep their stat: status stays fast
    assert index.rows["data/nested/deep.txt"].stat is not None
    qvc("reset", "--mixed", "HEAD@{1}")
    st = status(qvc)
    assert st["staged"] == NOTHING and st["modified"] == ["data/values.csv"]
    assert st["untracked"] == []


def test_hard_reset_makes_tracked_files_equal_and_keeps_untracked(work: Path, qvc: Qvc) -> None:
    one, two = history(work, qvc)
    (work / "README.md").write_text("unstaged edit\n")
    (work / "data" / "values.csv").write_text("staged edit\n")
    qvc("add", "data/values.csv")
    (work / "mine.txt").write_text("untracked, never deleted\n")
    result = json.loads(qvc("reset", "--hard", "HEAD~1", "--json").out)
    assert result["removed"] == ["new.txt"]
    assert sorted(result["written"]) == ["README.md", "data/values.csv"]
    assert files(work) == {"README.md": b"# hello\n", "data/values.csv": b"a,b\n1,2\n",
                           "data/nested/deep.txt": b"deep\n",
                           "mine.txt": b"untracked, never deleted\n"}
    st = status(qvc)
    assert st["head"] == one and st["staged"] == NOTHING
    assert st["modified"] == [] and st["untracked"] == ["mine.txt"]
    qvc("reset", "--hard", two[:10])
    assert (work / "new.txt").read_text() == "new in two\n"
    assert (work / "mine.txt").exists()
    assert status(qvc)["untracked"] == ["mine.txt"]


def test_hard_reset_refuses_to_overwrite_an_untracked_file(work: Path, qvc: Qvc) -> None:
    _, two = history(work, qvc)
    qvc("reset", "--hard", "HEAD~1")
    (work / "new.txt").write_text("the user's own new.txt\n")  # untracked again, different
    before = files(work)
    refused = qvc("reset", "--hard", two[:10], ok=False)
    assert refused.code == 6 and "new.txt" in refused.err and "untracked" in refused.err
    assert files(work) == before
    assert status(qvc)["head"] != two
    (work / "new.txt").write_text("new in two\n")  # the same content is in nobody's way
    qvc("reset", "--hard", two[:10])
    assert status(qvc)["clean"]


def test_hard_reset_verifies_objects_before_writing_any_file(work: Path, qvc: Qvc) -> None:
    one, _ = history(work, qvc)
    entry = next(e for e in json.loads(qvc("ls", one, "--json").out)
                 if e["logical_key"] == "README.md")
    from qvc.quilt.hashing import Hash

    damaged = Repo(work).objects.path(Hash(**entry["hash"]))
    damaged.chmod(0o644)
    damaged.write_bytes(b"# HELLO\n")
    before = files(work)
    failed = qvc("reset", "--hard", "HEAD~1", ok=False)
    assert failed.code == 8
    assert files(work) == before
    assert status(qvc)["clean"]


def test_reset_without_rev_unstages_everything(work: Path, qvc: Qvc) -> None:
    history(work, qvc)
    (work / "README.md").write_text("edited\n")
    (work / "extra.txt").write_text("extra\n")
    qvc("add", ".")
    qvc("reset")
    st = status(qvc)
    assert st["staged"] == NOTHING and st["modified"] == ["README.md"]
    assert st["untracked"] == ["extra.txt"]
    assert qvc("reset", "--soft", "--hard", ok=False).code == 2


# restore --------------------------------------------------------------------------------------


def test_restore_staged_unstages_and_restore_discards_edits(work: Path, qvc: Qvc) -> None:
    history(work, qvc)
    (work / "README.md").write_text("staged edit\n")
    (work / "added.txt").write_text("added\n")
    qvc("add", ".")
    qvc("restore", "--staged", "README.md", "added.txt")
    st = status(qvc)
    assert st["staged"] == NOTHING
    assert st["modified"] == ["README.md"] and st["untracked"] == ["added.txt"]
    assert (work / "README.md").read_text() == "staged edit\n"  # files untouched
    qvc("restore", "README.md")
    assert (work / "README.md").read_text() == "# two\n"
    assert status(qvc)["modified"] == []


def test_restore_brings_back_the_staged_version(work: Path, qvc: Qvc) -> None:
    history(work, qvc)
    (work / "data" / "values.csv").write_text("staged\n")
    qvc("add", "data")
    (work / "data" / "values.csv").write_text("edited after staging\n")
    (work / "data" / "nested" / "deep.txt").unlink()
    qvc("restore", "data")
    assert (work / "data" / "values.csv").read_text() == "staged\n"
    assert (work / "data" / "nested" / "deep.txt").read_text() == "deep\n"
    st = status(qvc)
    assert st["staged"]["modified"] == ["data/values.csv"]
    assert st["modified"] == st["deleted"] == []


def test_restore_from_a_source_and_its_refusals(work: Path, qvc: Qvc, tmp_path: Path) -> None:
    history(work, qvc)
    qvc("restore", "--source", "HEAD~1", "README.md")
    assert (work / "README.md").read_text() == "# hello\n"
    assert status(qvc)["modified"] == ["README.md"]  # the index still holds two's
    qvc("restore", "--staged", "--source", "HEAD~1", "README.md")
    assert status(qvc)["staged"]["modified"] == ["README.md"]
    assert status(qvc)["modified"] == []
    missing = qvc("restore", "no-such-file", ok=False)
    assert missing.code == 4 and "no-such-file" in missing.err
    outside = tmp_path / "outside"
    (outside / "data").mkdir(parents=True)
    (outside / "data" / "values.csv").write_text("not ours\n")
    (work / "link").symlink_to(outside)
    through = qvc("restore", "link/data/values.csv", ok=False)
    assert through.code == 4 and "symbolic link" in through.err
    assert (outside / "data" / "values.csv").read_text() == "not ours\n"


# reflog ---------------------------------------------------------------------------------------


def test_reflog_lists_a_checkout_and_head_at_n_returns(work: Path, qvc: Qvc) -> None:
    one, two = history(work, qvc)
    qvc("checkout", one[:10])
    lines = qvc("reflog").out.splitlines()
    assert lines[0].startswith(f"{one[:12]} HEAD@{{0}}: checkout:")
    assert lines[1].startswith(f"{two[:12]} HEAD@{{1}}: commit: two")
    listed = json.loads(qvc("reflog", "--json").out)
    assert [e["top_hash"] for e in listed] == [one, two, one]
    assert listed[0]["name"] == "HEAD@{0}"
    qvc("checkout", "HEAD@{1}")
    assert head(qvc) == two
    assert json.loads(qvc("show", "HEAD@{2}~1", "--json").out)["top_hash"] == one
    beyond = qvc("show", "HEAD@{9}", ok=False)
    assert beyond.code == 2 and "qvc reflog" in beyond.err


def test_reset_away_from_a_commit_keeps_it_in_reach(work: Path, qvc: Qvc) -> None:
    _, two = history(work, qvc)
    qvc("reset", "--hard", "HEAD~1")
    assert two[:12] not in qvc("log", "--oneline").out
    assert two[:12] in qvc("log", "--all", "--oneline").out
    qvc("reset", "--hard", "HEAD@{1}")
    assert head(qvc) == two and status(qvc)["clean"]


# log --all --oneline --graph ------------------------------------------------------------------


def _merge(work: Path, qvc: Qvc) -> dict[str, str]:
    """base -> ours, base -> theirs (newer), and a merge of theirs into ours' line whose
    record has two parents, as a merge command writes it."""
    qvc("add", ".", cwd=work)
    base = qvc("commit", "-m", "base").out.strip()
    (work / "ours.txt").write_text("ours\n")
    qvc("add", "ours.txt")
    ours = qvc("commit", "-m", "ours").out.strip()
    qvc("checkout", base[:10])
    time.sleep(0.01)
    (work / "theirs.txt").write_text("theirs\n")
    qvc("add", "theirs.txt")
    theirs = qvc("commit", "-m", "theirs").out.strip()
    repo = Repo(work)
    ours_id, theirs_id = repo.resolve(ours), repo.resolve(theirs)
    merge = Commit(ours, theirs_id, time.time_ns(), "tester", "merge", {}, merged=ours_id)
    repo.set_head(repo.write_commit(merge), "merge: by hand")
    return {"base": base, "ours": ours, "theirs": theirs, "merge": ours}


def test_graph_draws_a_merge(work: Path, qvc: Qvc) -> None:
    tops = _merge(work, qvc)
    lines = qvc("log", "--graph", "--oneline").out.splitlines()
    assert lines == [
        f"* {tops['merge'][:12]} merge",
        "|\\",
        f"* | {tops['theirs'][:12]} theirs",
        f"| * {tops['ours'][:12]} ours",
        "|/",
        f"* {tops['base'][:12]} base",
    ]
    assert lines == qvc("log", "--all", "--graph").out.splitlines()
    logged = json.loads(qvc("log", "--json").out)
    assert logged[0]["parents"] == [tops["theirs"], tops["ours"]]
    assert logged[0]["parent"] == tops["theirs"]
    assert [e["parents"] for e in logged][-1] == []


def test_log_all_shows_commits_off_the_current_line(work: Path, qvc: Qvc) -> None:
    one, two = history(work, qvc)
    qvc("checkout", one[:10])
    (work / "side.txt").write_text("side\n")
    qvc("add", "side.txt")
    side = qvc("commit", "-m", "side").out.strip()
    qvc("tag", "side-tag")
    qvc("checkout", two[:10])
    assert qvc("log", "--oneline").out.splitlines() == [f"{two[:12]} two", f"{one[:12]} one"]
    lines = qvc("log", "--all", "--oneline", "--graph").out.splitlines()
    assert lines == [f"* {side[:12]} side", f"| * {two[:12]} two", "|/", f"* {one[:12]} one"]


# status: an older version ---------------------------------------------------------------------


def test_status_says_head_is_an_older_version(work: Path, qvc: Qvc) -> None:
    one, two = history(work, qvc)
    assert "older version" not in qvc("status").out
    assert status(qvc)["older_version"] is False
    qvc("checkout", one[:10])
    out = qvc("status").out
    assert f"HEAD is at an older version ({one[:12]}); 'qvc checkout latest' returns" in out
    st = status(qvc)
    assert st["older_version"] is True and st["latest"] == two
    qvc("checkout", "latest")
    assert head(qvc) == two and "older version" not in qvc("status").out


# revisions ------------------------------------------------------------------------------------


def test_a_tag_that_looks_like_a_version_is_refused(work: Path, qvc: Qvc) -> None:
    one, _ = history(work, qvc)
    refused = qvc("tag", one[:8], ok=False)
    assert refused.code == 2 and one[:12] in refused.err
    assert not any((work / ".qvc" / "tags").iterdir())
    qvc("tag", "abcdef0123")  # hex, but no version starts with it
    assert json.loads(qvc("show", "abcdef0123", "--json").out)["top_hash"] != one


def test_an_existing_ambiguous_tag_is_an_error_naming_both(work: Path, qvc: Qvc) -> None:
    one, two = history(work, qvc)
    repo = Repo(work)
    (work / ".qvc" / "tags" / one[:8]).write_text(repo.resolve(two))  # from before the check
    failed = qvc("show", one[:8], ok=False)
    assert failed.code == 2 and "ambiguous" in failed.err
    assert one[:12] in failed.err and two[:12] in failed.err
    assert json.loads(qvc("show", f"tags/{one[:8]}", "--json").out)["top_hash"] == two
    assert json.loads(qvc("show", one, "--json").out)["top_hash"] == one


def test_unknown_revisions_say_so(work: Path, qvc: Qvc) -> None:
    history(work, qvc)
    for rev in ("nosuchtag", "abc", "abcdef99"):
        failed = qvc("show", rev, ok=False)
        assert failed.code == 2 and f"unknown revision '{rev}'" in failed.err, failed.err
        assert "hint: " in failed.err
    assert "6 or more" in qvc("show", "abc", ok=False).err
