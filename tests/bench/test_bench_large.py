"""The partial-clone and copy-on-write benchmarks keep working: --quick runs complete and
report every case. No timing is asserted; the figures belong in bench/README.md."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # benchmark runs: the slow tier

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_quick_sparse_benchmark_reports_bytes_and_time(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_sparse.py"), "--quick", "--workdir", str(tmp_path),
         "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    folder = json.loads(out.read_text())["folder"]
    assert folder["bytes_ratio"] == pytest.approx(0.05)  # one folder of twenty, nothing more
    assert folder["time_ratio"] > 0
    assert list(tmp_path.iterdir()) == [out]  # generated data is removed afterwards


def test_quick_reflink_benchmark_compares_both_modes(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("mkfs.xfs") is None:
        pytest.skip("needs root and mkfs.xfs to mount an XFS image")
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_reflink.py"), "--quick", "--workdir", str(tmp_path),
         "--json", str(out)], capture_output=True, text=True, timeout=300)
    if done.returncode == 2:
        pytest.skip(f"cannot mount an XFS image here: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())["rows"]
    assert rows["reflink"]["disk"] < 1.1 < rows["copy"]["disk"]
    assert list(tmp_path.iterdir()) == [out]
