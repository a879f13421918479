"""The README's first quickstart command: `qvc demo` runs the main job end to end."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Qvc


def test_demo_tracks_pushes_and_clones_back(tmp_path: Path, qvc: Qvc) -> None:
    out = qvc("demo", str(tmp_path / "demo")).out
    assert "All checks passed" in out
    clone = tmp_path / "demo" / "clone"
    assert (clone / "data" / "notes.txt").read_text() == "Version 2 adds 60 rows.\n"
    log = qvc("log", "--json", cwd=clone).out
    assert log.count('"top_hash"') == 2


def test_demo_refuses_a_folder_with_files(tmp_path: Path, qvc: Qvc) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    result = qvc("demo", str(tmp_path / "busy"), ok=False)
    assert result.code == 2
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"
