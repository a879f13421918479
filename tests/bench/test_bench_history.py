"""The checkout/diff benchmark keeps working: a --quick run on tiny data completes and reports
each case. No timing is asserted; the figures are for bench/README.md, not for the suite."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # minutes of benchmark runs: the slow tier

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.skipif(shutil.which("git") is None, reason="the benchmark compares with git")
def test_quick_history_benchmark_runs_every_case(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_history.py"), "--quick", "--workdir", str(tmp_path),
         "--json", str(out)],
        capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())
    cases = [row["case"] for row in rows]
    for prefix in ("(g) checkout 100 files into an empty tree", "(g) same, against git",
                   "(h) diff of two commits"):
        assert any(case.startswith(prefix) for case in cases), prefix
    assert all(row["qvc"] > 0 and row["ref"] > 0 for row in rows)  # both sides really ran
    assert "target" in done.stdout  # the table shows the goals beside the figures
    assert list(tmp_path.iterdir()) == [out]  # generated data is removed afterwards
