"""The merge benchmark keeps working: a --quick run on tiny data completes and reports its
case. No timing is asserted; the figures are for bench/README.md, not for the suite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a benchmark run: the slow tier

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_quick_merge_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_merge.py"), "--quick", "--workdir", str(tmp_path),
         "--json", str(out)],
        capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())
    assert [row["case"][:9] for row in rows] == ["(i) merge"]
    assert rows[0]["qvc"] > 0
    assert "< 2 s" in done.stdout  # the figure is shown beside its target
    assert list(tmp_path.iterdir()) == [out]  # generated data is removed afterwards
