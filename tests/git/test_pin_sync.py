"""The pin and the data around git checkouts: the post-checkout hook makes the data follow
the pin and never rewrites the pin git checked out (real git, real hook processes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Qvc
from tests.git.test_git_hooks import commit_code, git, make_code, top_of


@pytest.fixture
def hooked(tmp_path: Path, qvc: Qvc) -> Path:
    """Code with a data folder at v1, qvc's git hooks installed and the pin committed."""
    code = make_code(tmp_path, qvc)
    qvc("install-hooks", cwd=code)
    git("add", "-A", cwd=code)
    git("commit", "-q", "-m", "pin data v1", cwd=code)
    return code


def test_checkout_of_an_old_format_pin_leaves_it_as_git_holds_it(
        hooked: Path, qvc: Qvc, tmp_path: Path) -> None:
    data = hooked / "data"
    v1 = top_of(data)
    old_pin = f"package: test/data\ntop_hash: {v1}\nremote:\n"  # no header, empty remote
    (data / "qvc.pin").write_text(old_pin)
    git("add", "data/qvc.pin", cwd=hooked)
    commit_code(hooked, "old pin")
    first = git("rev-parse", "HEAD", cwd=hooked).stdout.strip()
    qvc("remote", "add", "origin", str(tmp_path / "registry"), cwd=data)
    (data / "values.csv").write_text("v2\n")
    qvc("commit", "-a", "-m", "v2", cwd=data)
    v2 = top_of(data)
    git("add", "data/qvc.pin", cwd=hooked)
    commit_code(hooked, "use v2")
    for _ in range(2):
        git("checkout", "-q", first, cwd=hooked)
        assert top_of(data) == v1 and (data / "values.csv").read_text() == "a,b\n1,2\n"
        assert (data / "qvc.pin").read_text() == old_pin
        assert git("status", "--porcelain", cwd=hooked).stdout == ""
        git("checkout", "-q", "main", cwd=hooked)  # git refuses if the hook rewrote the pin
        assert top_of(data) == v2 and git("status", "--porcelain", cwd=hooked).stdout == ""
