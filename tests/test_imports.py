"""Imports point one way, and each third-party library has one home module (checked on the AST
of every module, function-level imports included), and local commands never load boto3."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Qvc

PACKAGE = Path(__file__).resolve().parents[1] / "qvc"
STDLIB = set(sys.stdlib_module_names)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports, at any nesting level."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package[: len(package) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return found


MODULES = {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def importers_of(library: str) -> set[str]:
    return {m for m, names in MODULES.items()
            if any(n == library or n.startswith(library + ".") for n in names)}


@pytest.mark.parametrize(("library", "home"), [
    ("typer", "qvc.cli"), ("click", "qvc.cli"), ("boto3", "qvc.storage.s3"),
    ("botocore", "qvc.storage.s3"), ("dulwich", "qvc.git.gitlink"),
    ("pathspec", "qvc.worktree.ignore"),
])
def test_each_library_has_one_home(library: str, home: str) -> None:
    strays = {m for m in importers_of(library) if m != home and not m.startswith(home + ".")}
    assert not strays, f"{library} imported outside {home}: {sorted(strays)}"


@pytest.mark.parametrize("module", ["qvc.quilt.manifest", "qvc.quilt.hashing"])
def test_pure_modules_use_only_the_stdlib(module: str) -> None:
    allowed = {"qvc", "qvc.errors", "qvc.quilt.hashing"}
    bad = set()
    for name in MODULES[module]:
        top = name.split(".")[0]
        if top == "__future__" or top in STDLIB:
            continue
        owner = next((a for a in sorted(allowed, key=len, reverse=True)
                      if name == a or name.startswith(a + ".")), None)
        if owner in (None, "qvc"):
            bad.add(name)
    assert not bad, f"{module} imports {sorted(bad)}"


# The layers, lowest first (docs/design.md draws the same picture). A module may import its
# own layer and the layers below it, never one above.
LAYERS = ["errors", "sysio", "quilt", "storage", "worktree", "core", "conf", "remote", "git",
          "ops", "api", "cli"]
ENTRY_POINTS = {"qvc", "qvc.__main__"}  # the lazy top-level API and ``python -m qvc``


def layer_of(module: str) -> int:
    part = module.split(".")[1]
    assert part in LAYERS, f"{module} belongs to no layer: add it to LAYERS and design.md"
    return LAYERS.index(part)


def qvc_modules_imported_by(module: str) -> set[str]:
    """The qvc modules (not names inside them) that ``module`` imports."""
    found = set()
    for name in MODULES[module]:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module and name not in ENTRY_POINTS:
            found.add(name)
    return found


def test_every_module_belongs_to_a_layer() -> None:
    for module in MODULES.keys() - ENTRY_POINTS:
        layer_of(module)


def test_imports_never_point_to_a_higher_layer() -> None:
    upward = sorted(f"{module} -> {target}" for module in MODULES.keys() - ENTRY_POINTS
                    for target in qvc_modules_imported_by(module)
                    if layer_of(target) > layer_of(module))
    assert not upward, "imports pointing up the layers:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    """Lazy imports count: a cycle hidden inside a function is still a cycle."""
    graph = {m: qvc_modules_imported_by(m) for m in MODULES.keys() - ENTRY_POINTS}
    done: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append(path[path.index(module):] + [module])
            return
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, path + [module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_walk_sees_function_level_imports() -> None:
    """Guard for the checks above: lazy imports inside functions are found too."""
    assert "qvc.git.gitlink" in {n for names in MODULES.values() for n in names}
    assert any("boto3" in names for names in MODULES.values())


DRIVER = """
import json, sys
import qvc.cli
code = qvc.cli.main(["status"])
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"boto3", "botocore", "s3transfer"})
print(json.dumps({"code": code, "loaded": loaded}))
"""


def test_status_in_an_empty_repository_does_not_import_boto3(tmp_path: Path, qvc: Qvc) -> None:
    qvc("init", "test/empty", cwd=tmp_path)
    done = subprocess.run([sys.executable, "-c", DRIVER], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().split("\n")[-1])
    assert result == {"code": 0, "loaded": []}


RUN = """
import json, sys
import qvc.cli
code = qvc.cli.main(sys.argv[1:])
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"boto3", "botocore", "dulwich"})
print(json.dumps({"code": code, "loaded": loaded}))
"""


def test_init_and_clone_outside_git_do_not_import_dulwich(tmp_path: Path, qvc: Qvc) -> None:
    from qvc.git.probe import may_be_in_git

    if may_be_in_git(tmp_path):
        pytest.skip("the temporary folder is inside a git work tree")
    work, registry = tmp_path / "work", tmp_path / "registry"
    work.mkdir()
    (work / "a.txt").write_text("a\n")
    qvc("init", "test/pkg", cwd=work)
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "v1", cwd=work)
    qvc("push", str(registry), cwd=work)
    (tmp_path / "fresh").mkdir()
    for args, cwd in ((["init", "test/other"], tmp_path / "fresh"),
                      (["clone", str(registry), "test/pkg", "copy"], tmp_path)):
        done = subprocess.run([sys.executable, "-c", RUN, *args], cwd=cwd, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout.strip().split("\n")[-1]) == {"code": 0, "loaded": []}
    assert (tmp_path / "copy/a.txt").read_text() == "a\n"


def test_cli_needs_no_click_package_when_typer_vendors_it() -> None:
    """Recent typer ships its own click; a fresh install has no `click` package at all."""
    import subprocess
    import sys

    import typer

    if not hasattr(typer, "TyperException"):
        pytest.skip("this typer release is built on the click package")
    code = ("import sys; sys.modules['click'] = None\n"
            "from qvc.cli import main\n"
            "sys.exit(main(['--version']) or main(['no-such-command']) != 2)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "qvc" in run.stdout


def test_loading_the_command_table_loads_no_layer_below_it() -> None:
    """``qvc --version`` pays only for the CLI: each command imports its operation when it
    runs."""
    code = ("import sys, qvc.cli\n"
            "print(sorted(m for m in sys.modules if m.startswith('qvc.')"
            " and not m.startswith('qvc.cli')))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "['qvc.errors']"
