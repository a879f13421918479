"""What the shell sees: completion scripts, every user command in ``qvc --help``, and ``gc``
durations written as people write them."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from qvc.cli.gc import seconds
from qvc.errors import UsageError
from tests.conftest import Qvc, run_qvc_process


def test_show_completion_prints_a_bash_script(tmp_path: Path) -> None:
    run = run_qvc_process("--show-completion", "bash", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "complete " in run.stdout and "_QVC_COMPLETE" in run.stdout


def test_completion_completes_command_names(tmp_path: Path) -> None:
    env = {**os.environ, "_QVC_COMPLETE": "complete_bash", "COMP_WORDS": "qvc sta",
           "COMP_CWORD": "1"}
    run = run_qvc_process(cwd=tmp_path, env=env)
    assert "status" in run.stdout.split()


def test_help_lists_completion_options_and_the_hook_command(tmp_path: Path, qvc: Qvc) -> None:
    out = qvc("--help", cwd=tmp_path).out
    assert "--install-completion" in out and "--show-completion" in out
    assert any(line.split()[:1] == ["hook"] for line in out.splitlines())
    assert "sync" in qvc("hook", "--help").out


@pytest.mark.parametrize(("text", "value"), [
    ("90d", 90 * 86400), ("2w", 14 * 86400), ("36h", 36 * 3600), ("15m", 900), ("30s", 30),
    ("3600", 3600), ("0", 0), ("1.5h", 5400), ("2D", 2 * 86400),
])
def test_durations(text: str, value: float) -> None:
    assert seconds(text, "--grace") == value


@pytest.mark.parametrize("text", ["", "d", "90x", "-1h", "-5", "nan", "inf", "ten", "1e999"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UsageError):
        seconds(text, "--grace")


def test_gc_grace_with_a_unit_keeps_younger_temp_files(work: Path, qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "v1")
    leftover = work / ".qvc" / "tmp" / "leftover"
    leftover.write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    os.utime(leftover, (two_hours_ago, two_hours_ago))
    assert json.loads(qvc("gc", "--grace", "3h", "--json").out)["temp_removed"] == 0
    assert json.loads(qvc("gc", "--grace", "10800", "--json").out)["temp_removed"] == 0
    assert leftover.exists()
    assert json.loads(qvc("gc", "--grace", "1h", "--json").out)["temp_removed"] == 1
    assert not leftover.exists()


@pytest.mark.parametrize("option", ["--grace", "--reflog-expire"])
def test_gc_bad_duration_exits_2_with_a_hint(work: Path, qvc: Qvc, option: str) -> None:
    result = qvc("gc", option, "90 days", ok=False)
    assert result.code == 2
    hint = "qvc gc --dry-run --grace 2h --reflog-expire 90d"
    assert "is not a duration" in result.err and hint in result.err
    assert qvc(*hint.split()[1:]).code == 0  # the hint, as printed
