"""The S3 transfer benchmark keeps working: a --quick run against its own moto server
completes and reports every case. No timing is asserted; the figures belong in
bench/README.md, not in the suite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # minutes of benchmark runs: the slow tier

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_quick_remote_benchmark_runs_every_case(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_remote.py"), "--quick", "--workdir", str(tmp_path),
         "--json", str(out)],
        capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())
    notes = rows.pop()["notes"]
    cases = [row["case"] for row in rows]
    for prefix in ("push 42 files", "client CPU per object", "re-push after editing one file",
                   "clone 42 files"):
        assert any(case.startswith(prefix) for case in cases), prefix
    assert any(note.startswith("re-push uploaded 1 object(s)") for note in notes), notes
    assert "target" in done.stdout  # the table shows the goals beside the figures
    assert list(tmp_path.iterdir()) == [out]  # generated data is removed afterwards
