"""qvc install-hooks / uninstall-hooks: put qvc's hooks where git or pre-commit runs them.

Plain git hooks are small shell shims (the files in the repository's ``hooks/`` folder are the
same text) that call ``qvc hook NAME``. A hook already in place is never overwritten: it is
kept as ``NAME.pre-qvc`` and the shim runs it first with the same arguments and input, so both
keep working; uninstalling puts it back.

With the pre-commit framework, a ``repo: local`` block of ``language: system`` hooks goes into
``.pre-commit-config.yaml``. Local hooks run the qvc already installed, the same version that
manages the data, and need no network ever; pointing at qvc's source repository instead would
make pre-commit clone it and build a second qvc in its own environment, which can drift from
the one that wrote ``.qvc/``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qvc.core.repo import Repo, find_root
from qvc.errors import ConflictError, RepositoryError
from qvc.git import pin as pins
from qvc.git.gitlink import GitLink, link_work_tree
from qvc.ops.hooks import discover
from qvc.sysio.fileio import atomic_write

HOOKS = ("pre-commit", "pre-push", "post-checkout", "post-merge")
MARKER = "# qvc-hook-shim"
BACKUP = ".pre-qvc"
PRECOMMIT_CONFIG = ".pre-commit-config.yaml"
PRECOMMIT_INSTALL = ("pre-commit install" + "".join(f" --hook-type {h}" for h in HOOKS))


@dataclass
class InstallResult:
    hooks_dir: Path
    installed: list[str] = field(default_factory=list)
    chained: list[str] = field(default_factory=list)  # existing hooks kept as NAME.pre-qvc
    linked: GitLink | None = None  # set when this call linked the current data folder


@dataclass
class UninstallResult:
    hooks_dir: Path
    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)  # hooks that are not qvc's, left alone


@dataclass
class PrecommitResult:
    path: Path
    created: bool
    changed: bool
    comments_lost: bool = False
    command: str = PRECOMMIT_INSTALL
    linked: GitLink | None = None


def shim(name: str, python: str | None = None) -> str:
    """The shell script git runs as hook ``name``; ``python`` is the interpreter to run qvc
    with (it falls back to ``qvc`` on PATH when that interpreter is gone)."""
    stdin = name == "pre-push"  # the only one of these hooks git feeds input to
    feed = "printf '%s\\n' \"$input\" | " if stdin else ""
    # A failing pre-* hook stops git; a post-* hook cannot, so qvc's sync runs regardless.
    stop = "|| exit $?" if name.startswith("pre-") else "|| status=$?"
    return "\n".join([
        "#!/bin/sh",
        f"{MARKER}: keeps the data pinned in qvc.pin in step with this code.",
        "# Installed by 'qvc install-hooks', removed by 'qvc uninstall-hooks'. A hook that was",
        f"# here before is kept as {name}{BACKUP} and runs first.",
        f"QVC_PYTHON='{python or ''}'",
        "run_qvc() {",
        '    if [ -n "$QVC_PYTHON" ] && [ -x "$QVC_PYTHON" ]; then "$QVC_PYTHON" -m qvc "$@"',
        '    elif command -v qvc >/dev/null 2>&1; then qvc "$@"',
        "    else echo \"qvc hook: 'qvc' is not on PATH; install it or run 'qvc "
        "uninstall-hooks'\" >&2; return 1",
        "    fi",
        "}",
        "status=0",
        *(["input=$(cat)"] if stdin else []),
        f'previous="$(dirname "$0")/{name}{BACKUP}"',
        'if [ -x "$previous" ]; then',
        f'    {feed}"$previous" "$@" {stop}',
        "fi",
        f'{feed}run_qvc hook {name} "$@" || exit $?',
        "exit $status",
        "",
    ])


def install_hooks(start: Path) -> InstallResult:
    """Install qvc's shims into the git hooks folder (``core.hooksPath`` honoured)."""
    git = discover(start)
    hooks_dir = git.hooks_dir()
    hooks_dir.mkdir(parents=True, exist_ok=True)
    result = InstallResult(hooks_dir, linked=_link_here(start))
    for name in HOOKS:
        target, backup = hooks_dir / name, hooks_dir / (name + BACKUP)
        if (target.exists() or target.is_symlink()) and not _ours(target):
            if backup.exists() or backup.is_symlink():
                raise ConflictError(f"both {target} and {backup} exist",
                                    "move one of them away, then run 'qvc install-hooks' again")
            os.replace(target, backup)  # moves a symlink itself, never what it points to
            result.chained.append(name)
        atomic_write(target, shim(name, sys.executable).encode(), mode=0o755)
        result.installed.append(name)
    return result


def uninstall_hooks(start: Path) -> UninstallResult:
    """Remove qvc's shims and put back the hooks they chained to; others are left alone."""
    git = discover(start)
    hooks_dir = git.hooks_dir()
    result = UninstallResult(hooks_dir)
    for name in HOOKS:
        target, backup = hooks_dir / name, hooks_dir / (name + BACKUP)
        if not (target.exists() or target.is_symlink()):
            continue
        if not _ours(target):
            result.foreign.append(name)
            continue
        target.unlink()
        result.removed.append(name)
        if backup.exists() or backup.is_symlink():
            os.replace(backup, target)
            result.restored.append(name)
    return result


def _ours(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    with open(path, "rb") as f:
        return MARKER.encode() in f.read(4096)


def _link_here(start: Path) -> GitLink | None:
    """Link the qvc work tree around ``start`` to git if ``qvc init`` ran before git did."""
    root = find_root(start)
    if root is None or pins.path_of(root).exists():
        return None
    repo = Repo(root)
    link = link_work_tree(root, repo.package)
    pins.refresh(repo)
    return link


# pre-commit framework ------------------------------------------------------------------------

_STANZA = """\
- repo: local  # qvc: runs the installed qvc, offline
  hooks:
  - id: qvc-check
    name: qvc data is committed and pinned
    entry: qvc hook pre-commit
    language: system
    pass_filenames: false
    always_run: true
    stages: [pre-commit]
  - id: qvc-pre-push
    name: qvc pinned data is in the remote registry
    entry: qvc hook pre-push
    language: system
    pass_filenames: false
    always_run: true
    stages: [pre-push]
  - id: qvc-sync
    name: qvc data follows the pin
    entry: qvc hook sync
    language: system
    pass_filenames: false
    always_run: true
    stages: [post-checkout, post-merge]
"""
_NEW_FILE = (f"# See https://pre-commit.com; then run: {PRECOMMIT_INSTALL}\n"
             f"default_install_hook_types: [{', '.join(HOOKS)}]\nrepos:\n")
IDS = ("qvc-check", "qvc-pre-push", "qvc-sync")


def add_precommit_config(start: Path) -> PrecommitResult:
    """Add qvc's hooks to the git root's .pre-commit-config.yaml (created if missing), keeping
    every other entry; the file's text and comments are kept whenever the block can be
    appended to its ``repos:`` list as text."""
    git = discover(start)
    path = git.root / PRECOMMIT_CONFIG
    linked = _link_here(start)
    try:
        old = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        atomic_write(path, (_NEW_FILE + _STANZA).encode())
        return PrecommitResult(path, created=True, changed=True, linked=linked)
    data = _load(path, old)
    repos = data.get("repos") or []
    if any(h.get("id") in IDS for r in repos if isinstance(r, dict)
           for h in r.get("hooks") or [] if isinstance(h, dict)):
        return PrecommitResult(path, created=False, changed=False, linked=linked)
    wanted = {**data, "repos": [*repos, *yaml.safe_load(_STANZA)]}
    text = _appended(old)
    lost = text is None or _load(path, text) != wanted
    if lost:
        text = yaml.safe_dump(wanted, sort_keys=False)
    assert text is not None
    atomic_write(path, text.encode())
    return PrecommitResult(path, created=False, changed=True, comments_lost=lost, linked=linked)


def _load(path: Path, text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise RepositoryError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}",
                              "fix it (pre-commit validate-config), then run this again") from None
    if not isinstance(data, dict) or not isinstance(data.get("repos", []), list):
        raise RepositoryError(f"{path} is not a pre-commit configuration",
                              "it must be a mapping with a 'repos:' list")
    return data


def _appended(old: str) -> str | None:
    """``old`` with the stanza appended to its ``repos:`` list, if that list ends the file."""
    lines = old.rstrip("\n").splitlines()
    top = [i for i, line in enumerate(lines) if line[:1] not in ("", " ", "#", "-")]
    if not top or not lines[top[-1]].startswith("repos:"):
        return None
    items = [line for line in lines[top[-1] + 1:] if line.lstrip().startswith("- ")]
    indent = (len(items[0]) - len(items[0].lstrip())) if items else 0
    block = "".join(" " * indent + line + "\n" for line in _STANZA.splitlines())
    return "\n".join(lines) + "\n" + block
