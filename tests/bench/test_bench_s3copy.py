"""The server-side copy benchmark keeps working: a --quick run completes and shows qvc's
copies reading almost nothing through the client. No timing is asserted; the figures belong in
bench/README.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # minutes of benchmark runs: the slow tier

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_quick_s3copy_benchmark_runs_every_scenario(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    done = subprocess.run([sys.executable, str(BENCH / "bench_s3copy.py"), "--quick",
                           "--json", str(out)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())
    ours = [row for row in rows if row["tool"] == "qvc"]
    assert [row["scenario"][:2] for row in ours] == ["1 ", "2 ", "3 ", "3b", "4 "]
    assert not any(row["error"] for row in ours)
    for row in ours[:4]:
        assert row["read_share"] < 0.10, row
