"""The benchmark script keeps working: a --quick run on tiny data completes and reports every
case. No timing is asserted here; the figures are for bench/README.md, not for the suite."""

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
def test_quick_benchmark_runs_every_case(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_core.py"), "--quick", "--workdir", str(tmp_path),
         "--json", str(out)],
        capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr
    cases = [row["case"] for row in json.loads(out.read_text())]
    for prefix in ("(a) add+commit", "(b) clean status", "(b) status after touching",
                   "(c) edit one file: add", "(c) edit one file: commit -a", "(d) 20 MiB",
                   "(f) qvc --version", "(f) qvc status, empty"):
        assert any(case.startswith(prefix) for case in cases), prefix
    assert "target" in done.stdout  # the table shows the goals beside the figures
    assert list(tmp_path.iterdir()) == [out]  # generated data is removed afterwards


def test_generated_data_is_deterministic(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import gen
    finally:
        sys.path.remove(str(BENCH))
    for copy in ("one", "two"):
        gen.make_tree(tmp_path / copy, folders=2, files=3, size=100)
        gen.make_big(tmp_path / copy / "big.bin", size=1000)
    one = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*"))
    assert len([p for p in one if p.suffix == ".bin"]) == 7
    for rel in one:
        if (tmp_path / "one" / rel).is_file():
            assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes()
    contents = {(tmp_path / "one" / p).read_bytes() for p in one if p.name.startswith("f")}
    assert len(contents) == 6  # every small file is distinct
