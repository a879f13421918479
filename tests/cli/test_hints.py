"""Every qvc command a message or hint names exists and parses exactly as printed, and the
recoveries the hints promise work when followed word for word."""

from __future__ import annotations

import ast
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from qvc.cli.app import app
from qvc.core.repo import Repo
from qvc.quilt.hashing import Hash
from tests.conftest import Qvc

SOURCE = Path(__file__).resolve().parents[2] / "qvc"

# Placeholders a hint shows in capitals, and a value that stands for each when parsing.
SAMPLES = {"NAME": "sample", "REMOTE": "origin", "REGISTRY": "s3://bucket", "URL": "s3://bucket",
           "PATH": "data.csv", "REV": "HEAD", "DIR": "folder", "MESSAGE": "message",
           "VALUE": "value", "{}": "x"}
# Words that follow "qvc " in prose ("qvc never writes through links"), not commands.
PROSE = {"block", "command", "data", "does", "has", "hooks", "index", "keeps", "never", "on",
         "only", "pinned", "repository", "tracks", "updates", "work"}
QUOTED = re.compile(r"'(qvc [^']*)'")
MENTION = re.compile(r"(?<![\w'-])qvc ([a-z][\w-]*)(:?)")
STOP = {"&&", ";", "(", ")", "|", ","}


@dataclass(frozen=True)
class Mention:
    where: str  # file:line
    text: str  # the command as printed, from "qvc" on

    @property
    def words(self) -> list[str]:
        """The printed command split as a shell would, placeholders replaced by samples."""
        lexer = shlex.shlex(self.text.replace("[", "").replace("]", ""), posix=True,
                            punctuation_chars="();&|,")
        lexer.whitespace_split = True
        words: list[str] = []
        for token in list(lexer)[1:]:
            if token in STOP:
                break
            words.append(SAMPLES.get(token, token.replace("{}", "")))
        return words


def _text(node: ast.AST) -> str | None:
    """A string constant, or an f-string with each replacement field shown as ``{}``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "{}"
                       for v in node.values)
    return None


def _skipped(tree: ast.AST) -> set[int]:
    """Docstrings (contracts for readers, not messages) and the parts of f-strings."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
    return skip


def _mentions_in(text: str, where: str) -> list[Mention]:
    found = [Mention(where, m.group(1)) for m in QUOTED.finditer(text)]
    rest = QUOTED.sub("", text)
    for m in MENTION.finditer(rest):
        if m.group(1) not in PROSE and not m.group(2):  # "qvc pin:" is a label
            found.append(Mention(where, rest[m.start():].split("\n")[0]))
    return found


def mentions() -> list[Mention]:
    found: list[Mention] = []
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _skipped(tree)
        for node in ast.walk(tree):
            text = None if id(node) in skip else _text(node)
            if text and "qvc " in text:
                where = f"{path.relative_to(SOURCE.parent)}:{getattr(node, 'lineno', 0)}"
                found += _mentions_in(text, where)
    return found


MENTIONS = mentions()


def test_the_collector_finds_the_hints() -> None:
    texts = {m.text for m in MENTIONS}
    assert "qvc verify --repair --registry REMOTE" in texts
    assert "qvc status" in texts
    assert len(MENTIONS) > 40


def _command(words: list[str]) -> tuple[list[str], typer.core.TyperCommand]:
    """The command path (``remote add``) and the click command it names."""
    command = typer.main.get_command(app)
    path: list[str] = []
    while isinstance(command, typer.core.TyperGroup):
        assert words[len(path):], f"'qvc {' '.join(path)}' needs a sub-command"
        name = words[len(path)]
        assert name in command.commands, f"no command 'qvc {' '.join([*path, name])}'"
        command = command.commands[name]
        path.append(name)
    assert isinstance(command, typer.core.TyperCommand)
    return path, command


@pytest.mark.parametrize("mention", MENTIONS, ids=lambda m: f"{m.where} {m.text}")
def test_named_command_parses_as_printed(mention: Mention, qvc: Qvc) -> None:
    words = mention.words
    path, command = _command(words)
    shown = qvc(*path, "--help")
    for option in (w.split("=")[0] for w in words if w.startswith("-")):
        assert re.search(rf"(?<![\w-]){re.escape(option)}\b", shown.out), \
            f"{option} is not in 'qvc {' '.join(path)} --help'"
    try:
        command.make_context(" ".join(["qvc", *path]), words[len(path):])
    except typer.TyperException as exc:
        pytest.fail(f"{mention.where}: 'qvc {' '.join(words)}' does not parse: {exc}")


# the recoveries, followed as printed ------------------------------------------------------


def _quoted_command(hint: str, sample: dict[str, str] | None = None) -> list[str]:
    """The first command quoted in ``hint``, split, placeholders filled from ``sample``."""
    found = QUOTED.search(hint)
    assert found, f"no quoted command in the hint: {hint}"
    return [(sample or {}).get(w, w) for w in shlex.split(found.group(1))[1:]]


def _hint(err: str) -> str:
    return next(line for line in err.splitlines() if line.startswith("hint: "))


def _object(work: Path, qvc: Qvc, key: str) -> Path:
    entry = next(e for e in json.loads(qvc("ls", "--json", cwd=work).out)
                 if e["logical_key"] == key)
    return Repo(work).objects.path(Hash(**entry["hash"]))


def _corrupt(path: Path) -> None:
    path.chmod(0o644)  # objects are read-only
    path.write_bytes(path.read_bytes().upper())


def test_damaged_index_is_rebuilt_as_the_hint_says(work: Path, qvc: Qvc) -> None:
    qvc("add", ".")
    qvc("commit", "-m", "first")
    (work / "README.md").write_text("changed\n")  # the user's edit survives the recovery
    (work / ".qvc" / "index").write_bytes(b"garbage")
    failed = qvc("status", ok=False)
    assert failed.code == 3 and "index" in failed.err
    hint = _hint(failed.err)
    assert hint.startswith("hint: delete it: the next command rebuilds it from HEAD")
    (work / ".qvc" / "index").unlink()
    status = json.loads(qvc(*_quoted_command(hint), "--json").out)
    assert status["modified"] == ["README.md"], status
    assert status["staged"] == {"added": [], "modified": [], "deleted": []}
    assert (work / "README.md").read_text() == "changed\n"
    qvc("commit", "-a", "-m", "after the rebuild")
    assert "nothing to commit" in qvc("status").out


def test_corrupt_object_is_repaired_as_the_hint_says(work: Path, qvc: Qvc,
                                                     tmp_path: Path) -> None:
    qvc("add", ".")
    qvc("commit", "-m", "first")
    qvc("remote", "add", "origin", str(tmp_path / "registry"))
    qvc("push")
    readme = _object(work, qvc, "README.md")
    _corrupt(readme)
    failed = qvc("verify", ok=False)
    assert failed.code == 8
    qvc(*_quoted_command(_hint(failed.err)))
    assert readme.read_bytes() == b"# hello\n"
    qvc("verify")


def test_repair_from_another_remote_as_the_hint_says(work: Path, qvc: Qvc,
                                                     tmp_path: Path) -> None:
    qvc("add", ".")
    qvc("commit", "-m", "first")
    qvc("remote", "add", "backup", str(tmp_path / "backup"))
    qvc("push")
    (tmp_path / "empty").mkdir()
    qvc("remote", "add", "--default", "origin", str(tmp_path / "empty"))  # lacks the version
    readme = _object(work, qvc, "README.md")
    _corrupt(readme)
    failed = qvc("verify", "--repair", ok=False)
    assert failed.code == 8 and "origin does not have version" in failed.err
    qvc(*_quoted_command(_hint(failed.err), {"REMOTE": "backup"}))
    assert readme.read_bytes() == b"# hello\n"
    qvc("verify")


def test_missing_object_comes_back_as_the_hint_says(work: Path, qvc: Qvc,
                                                    tmp_path: Path) -> None:
    qvc("add", ".")
    first = qvc("commit", "-m", "first").out.strip()
    qvc("remote", "add", "origin", str(tmp_path / "registry"))
    qvc("push")
    qvc("remote", "remove", "origin")
    _object(work, qvc, "README.md").unlink()
    (work / "README.md").write_text("# second\n")
    qvc("commit", "-a", "-m", "second")
    failed = qvc("checkout", first, ok=False)
    assert failed.code == 8 and "not stored locally" in failed.err
    qvc(*_quoted_command(_hint(failed.err), {"NAME": "origin", "URL": str(tmp_path / "registry")}))
    qvc("checkout", first)
    assert (work / "README.md").read_text() == "# hello\n"


def test_untracked_file_in_the_way_of_reset_hard_as_the_hint_says(work: Path, qvc: Qvc,
                                                                    tmp_path: Path) -> None:
    qvc("add", ".")
    first = qvc("commit", "-m", "first").out.strip()
    (work / "later.txt").write_text("committed later\n")
    qvc("add", "later.txt")
    qvc("commit", "-m", "second")
    qvc("reset", "--hard", first[:10])
    (work / "later.txt").write_text("the user's own file\n")
    failed = qvc("reset", "--hard", "HEAD@{1}", ok=False)
    assert failed.code == 6 and "later.txt" in failed.err
    assert _hint(failed.err).startswith("hint: move them out of the way")
    (work / "later.txt").rename(tmp_path / "kept.txt")
    qvc(*_quoted_command(_hint(failed.err)))
    assert (work / "later.txt").read_text() == "committed later\n"
    assert (tmp_path / "kept.txt").read_text() == "the user's own file\n"
