"""Hostile manifests and work trees: rejected with a clear error, nothing read or written outside.

A hostile author computes a valid top hash (with qvc's own ``top_hash``), so these tests prove
key and physical-key validation, not just the hash check. Each manifest is published in a
folder registry and in an S3 registry with correct-looking pointers, then cloned, fetched and
pulled; hostile manifests in a repository's own store are checked out.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from qvc.core.repo import Commit, Repo
from qvc.errors import BadManifest, CorruptObject, PathError
from qvc.quilt.hashing import Hash, chunked_bytes
from qvc.quilt.manifest import Entry, parse, sort_key, top_hash
from qvc.quilt.urls import format_s3_url
from tests.conftest import Qvc, S3Server, run_qvc_process
from tests.reliability.helpers import assert_clean_error, contains_bytes, snapshot

HEADER: dict[str, Any] = {"version": "v0", "message": "hostile"}
SECRET = b"secret bytes qvc must never copy\n"
NAME = "test/pkg"


class Author:
    """Publishes packages, hostile or not, with valid hashes and pointers into a registry."""

    def __init__(self, url: str, put: Callable[[str, bytes], None],
                 physical: Callable[[str], str], outside: Path) -> None:
        self.url = url
        self.put = put
        self.physical = physical
        self.outside = outside
        self.secret = outside / "secret.txt"

    def entry(self, key: str, content: bytes = b"payload\n", **changes: Any) -> Entry:
        h = chunked_bytes(content)
        data_key = f"data/{h.hex}"
        self.put(data_key, content)
        fields: dict[str, Any] = {"logical_key": key, "physical_key": self.physical(data_key),
                                  "size": len(content), "hash": h, "meta": {}}
        fields.update(changes)
        return Entry(**fields)

    def publish(self, raw: bytes, top: str) -> None:
        self.put(f".quilt/packages/{top}", raw)
        self.put(f".quilt/named_packages/{NAME}/{int(time.time()):010d}", top.encode())
        self.put(f".quilt/named_packages/{NAME}/latest", top.encode())


def manifest_bytes(entries: list[Entry], header: dict[str, Any] | None = None,
                   extra: tuple[bytes, ...] = ()) -> tuple[bytes, str]:
    """Manifest bytes exactly as a Quilt writer lays them out, and their valid top hash."""
    head = HEADER if header is None else header
    ordered = sorted(entries, key=lambda e: sort_key(e.logical_key))
    lines = [json.dumps(head).encode(), *(e.line().encode() for e in ordered), *extra]
    return b"\n".join(lines) + b"\n", top_hash(head, ordered)


Build = Callable[[Author], tuple[bytes, str]]


def keys(*names: str | Callable[[Author], str]) -> Build:
    """A package of ``ok.txt`` plus files at the given (hostile) logical keys."""

    def build(author: Author) -> tuple[bytes, str]:
        chosen = [n(author) if callable(n) else n for n in names]
        return manifest_bytes([author.entry("ok.txt"),
                               *(author.entry(k, f"file {i}\n".encode())
                                 for i, k in enumerate(chosen))])

    return build


def physical(make: Callable[[Author], str], content: Callable[[Author], bytes]) -> Build:
    """One entry whose physical key points somewhere chosen, hash matching that content."""

    def build(author: Author) -> tuple[bytes, str]:
        data = content(author)
        return manifest_bytes([author.entry("ok.txt"), Entry(
            "stolen.txt", make(author), len(data), chunked_bytes(data), {})])

    return build


def mangled(change: Callable[[bytes], bytes]) -> Build:
    """A valid manifest whose bytes are changed after its top hash was computed."""

    def build(author: Author) -> tuple[bytes, str]:
        raw, top = manifest_bytes([author.entry("ok.txt"), author.entry("b.txt", b"b\n")])
        return change(raw), top

    return build


def _mismatch(author: Author) -> tuple[bytes, str]:
    raw, _ = manifest_bytes([author.entry("ok.txt")])
    _, other = manifest_bytes([author.entry("ok.txt", b"other\n")])
    return raw, other


def _duplicate(author: Author) -> tuple[bytes, str]:
    one = author.entry("same.txt")
    return manifest_bytes([one, one])


def _unknown_hash(author: Author) -> tuple[bytes, str]:
    odd = author.entry("odd.txt", hash=Hash("MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="))
    return manifest_bytes([author.entry("ok.txt"), odd])


def _long_line(author: Author) -> tuple[bytes, str]:
    big = author.entry("big.txt", meta={"user_meta": {"pad": "x" * 1_000_001}})
    return manifest_bytes([author.entry("ok.txt"), big])


def hashed(bad: Hash) -> Build:
    """A package with one entry whose hash value is ``bad`` (its size that of the secret)."""

    def build(author: Author) -> tuple[bytes, str]:
        return manifest_bytes([author.entry("ok.txt"),
                               author.entry("odd.txt", SECRET, hash=bad)])

    return build


def _linked_data(author: Author) -> tuple[bytes, str]:
    """A folder registry whose data file is a symlink to a local secret."""
    link = Path(author.url) / "data" / "link"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(author.secret)
    data = author.secret.read_bytes()
    return manifest_bytes([author.entry("ok.txt"),
                           Entry("stolen.txt", link.as_uri(), len(data), chunked_bytes(data), {})])


KEY_CASES: dict[str, Build] = {
    "dotdot": keys("../escaped.txt"),
    "dotdot-twice": keys("../../escaped.txt"),
    "dotdot-inside": keys("a/../../escaped.txt"),
    "absolute": keys(lambda a: str(a.outside / "abs.txt")),
    "empty": keys(""),
    "dot": keys("./x.txt"),
    "double-slash": keys("a//b.txt"),
    "trailing-slash-file": keys("a/"),
    "qvc-head": keys(".qvc/HEAD"),
    "qvc-upper": keys(".QVC/config.json"),
    "qvc-objects": keys(".qvc/objects/tmp/x"),
    "newline": keys("a\nb.txt"),
    "nul": keys("a\x00b.txt"),
    "file-and-folder": keys("a", "a/b.txt"),
    "nfc-nfd": keys(unicodedata.normalize("NFC", "é.txt"), unicodedata.normalize("NFD", "é.txt")),
    "duplicate": _duplicate,
    "git-config": keys(".git/config", ".git/HEAD"),
    "git-upper": keys(".GIT/config"),
    "git-nested": keys("data/.git/config"),
    "git-trailing-dot": keys(".git./config"),
    "git-trailing-space": keys(".git /config"),
    "git-short-name": keys("git~1/config"),
    "qvc-short-name": keys("QVC~1/HEAD"),
    "git-hfs-ignorable": keys("\u200c.git/config"),
}
FORMAT_CASES: dict[str, Build] = {
    "unknown-hash-type": _unknown_hash,
    "line-over-1MB": _long_line,
    "invalid-utf8": mangled(lambda raw: raw.replace(b'"hostile"', b'"host\xffile"')),
    "invalid-json": mangled(lambda raw: raw + b'{"logical_key": "c.txt", \n'),
    "not-an-object": mangled(lambda raw: raw + b"[1, 2]\n"),
    "truncated": mangled(lambda raw: raw[: len(raw) - 40]),
    "empty-manifest": mangled(lambda raw: b""),
    "top-hash-mismatch": _mismatch,
    "sha256-dotdot": hashed(Hash("SHA256", "../../../outside/secret.txt")),
    "sha256-upper": hashed(Hash("SHA256", "AB" * 32)),
    "sha256-nul": hashed(Hash("SHA256", "ab" * 31 + "a\x00")),
    "sha256-empty": hashed(Hash("SHA256", "")),
    "chunked-dotdot": hashed(Hash("sha2-256-chunked", "../../../outside/secret.txt")),
    "chunked-short": hashed(Hash("sha2-256-chunked", "AAAA")),
}
PHYSICAL_CASES: dict[str, Build] = {
    "file-url-outside": physical(lambda a: a.secret.as_uri(), lambda a: SECRET),
    "file-url-dotdot": physical(lambda a: f"file://{a.outside}/../outside/secret.txt",
                                lambda a: SECRET),
    "other-bucket": physical(lambda a: "s3://some-other-bucket/secret.txt", lambda a: SECRET),
    "http-url": physical(lambda a: "http://127.0.0.1:9/secret.txt", lambda a: SECRET),
}
REMOTE_CASES = {**KEY_CASES, **FORMAT_CASES, **PHYSICAL_CASES}


@dataclass
class Scene:
    """A registry, an outside folder with a secret, and a folder to clone into."""

    root: Path
    author: Author

    @property
    def clones(self) -> Path:
        return self.root / "clones"

    def everything(self) -> dict[str, Any]:
        return snapshot(self.root, exclude=(self.clones / "dst", self.clones / "work" / ".qvc"))


def folder_scene(root: Path) -> Scene:
    registry = root / "registry"

    def put(key: str, data: bytes) -> None:
        path = registry / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return Scene(root, Author(str(registry), put, lambda k: (registry / k).as_uri(),
                              root / "outside"))


def s3_scene(root: Path, server: S3Server, bucket: str) -> Scene:
    client = server.client()
    name = bucket[len("s3://"):]

    def put(key: str, data: bytes) -> None:
        client.put_object(Bucket=name, Key=key, Body=data)

    return Scene(root, Author(bucket, put, lambda k: format_s3_url(name, k), root / "outside"))


# A sample of every kind of case runs in the fast tier; the whole matrix is marked slow.
FAST = {"dotdot", "absolute", "qvc-head", "file-and-folder", "truncated", "top-hash-mismatch",
        "file-url-outside", "other-bucket", "git-config", "git-short-name", "sha256-dotdot",
        "chunked-short"}
FAST_PULL = {"dotdot", "file-url-outside", "top-hash-mismatch", "git-config", "sha256-dotdot"}


FAST_S3 = {"dotdot", "file-url-outside", "top-hash-mismatch", "git-config", "sha256-dotdot"}


def matrix(cases: dict[str, Build], fast: set[str], kinds: tuple[str, ...],
           fast_kinds: tuple[str, ...] = ("folder", "s3")) -> list[Any]:
    def quick(kind: str, case: str) -> bool:
        return case in fast and kind in fast_kinds and (kind != "s3" or case in FAST_S3)

    return [pytest.param(kind, case, id=f"{kind}-{case}",
                         marks=() if quick(kind, case) else pytest.mark.slow)
            for kind in kinds for case in sorted(cases)]


def make_scene(kind: str, request: pytest.FixtureRequest, root: Path) -> Scene:
    if kind == "folder":
        made = folder_scene(root)
    else:
        made = s3_scene(root, request.getfixturevalue("s3"), request.getfixturevalue("bucket"))
    made.author.outside.mkdir()
    made.author.secret.write_bytes(SECRET)
    made.clones.mkdir()
    return made


def assert_untouched(scene: Scene, before: dict[str, Any]) -> None:
    assert scene.everything() == before
    assert not contains_bytes(scene.clones, SECRET), "a local file was read for the remote"


@pytest.mark.parametrize("kind,case", matrix(REMOTE_CASES, FAST, ("folder", "s3")))
def test_clone_rejects_hostile_manifest(request: pytest.FixtureRequest, tmp_path: Path,
                                        qvc: Qvc, kind: str, case: str) -> None:
    scene = make_scene(kind, request, tmp_path)
    raw, top = REMOTE_CASES[case](scene.author)
    scene.author.publish(raw, top)
    before = scene.everything()
    result = qvc("clone", scene.author.url, NAME, "dst", cwd=scene.clones, ok=False)
    assert_clean_error(result.code, result.err, 8)
    assert_untouched(scene, before)


@pytest.mark.parametrize("kind", ["folder", "s3"])
@pytest.mark.parametrize("case", ["file-url-outside", "other-bucket"])
def test_sparse_clone_checks_the_keys_it_reads(request: pytest.FixtureRequest, tmp_path: Path,
                                              qvc: Qvc, kind: str, case: str) -> None:
    """A partial clone checks the physical keys of its selected entries only (the others are
    never read through it); ``sparse add`` checks those it newly reads, so a hostile key is
    refused then, before anything is read from where it points."""
    scene = make_scene(kind, request, tmp_path)
    raw, top = REMOTE_CASES[case](scene.author)
    scene.author.publish(raw, top)
    qvc("clone", scene.author.url, NAME, "dst", "--path", "ok.txt", cwd=scene.clones)
    dst = scene.clones / "dst"
    assert (dst / "ok.txt").read_bytes() == b"payload\n"
    before = scene.everything()
    result = qvc("sparse", "add", "stolen.txt", cwd=dst, ok=False)
    assert_clean_error(result.code, result.err, 8)
    assert "points outside" in result.err
    assert not (dst / "stolen.txt").exists()
    assert_untouched(scene, before)


@pytest.mark.parametrize("command", ["fetch", "pull"])
@pytest.mark.parametrize("kind,case",
                         matrix(REMOTE_CASES, FAST_PULL, ("folder", "s3"), ("folder",)))
def test_fetch_and_pull_reject_hostile_manifest(request: pytest.FixtureRequest, tmp_path: Path,
                                                qvc: Qvc, kind: str, case: str,
                                                command: str) -> None:
    scene = make_scene(kind, request, tmp_path)
    work = scene.clones / "work"
    work.mkdir()
    (work / "mine.txt").write_text("my own work\n")
    qvc("init", NAME, cwd=work)
    qvc("remote", "add", "origin", scene.author.url, cwd=work)
    raw, top = REMOTE_CASES[case](scene.author)
    scene.author.publish(raw, top)
    before = scene.everything()
    result = qvc(command, cwd=work, ok=False)
    assert_clean_error(result.code, result.err, 8)
    assert_untouched(scene, before)
    assert not Repo(work).registry.has_manifest(top), "a rejected manifest was stored"


def test_linked_data_in_a_folder_registry_is_not_read(tmp_path: Path, qvc: Qvc) -> None:
    scene = folder_scene(tmp_path)
    scene.author.outside.mkdir()
    scene.author.secret.write_bytes(SECRET)
    scene.clones.mkdir()
    scene.author.publish(*_linked_data(scene.author))
    before = scene.everything()
    result = qvc("clone", scene.author.url, NAME, "dst", cwd=scene.clones, ok=False)
    assert_clean_error(result.code, result.err, 8)
    assert_untouched(scene, before)


def test_parse_rejects_every_hostile_manifest(tmp_path: Path) -> None:
    """The pure parser alone refuses the key and format cases (no I/O involved)."""
    scene = folder_scene(tmp_path)
    scene.author.outside.mkdir()
    for case, build in {**KEY_CASES, **FORMAT_CASES}.items():
        raw, top = build(scene.author)
        with pytest.raises(BadManifest):
            parse(raw, top, source=case)
            pytest.fail(f"{case} was accepted")


# hostile manifests in the repository itself -------------------------------------------------


def local_author(repo: Repo, outside: Path) -> Author:
    """An author whose data goes into ``repo``'s own object store."""

    def put(data_key: str, data: bytes) -> None:
        scratch = repo.dot / "tmp" / "scratch"
        scratch.write_bytes(data)
        repo.objects.add_file(scratch)

    def object_url(data_key: str) -> str:
        digest = data_key.split("/")[1]
        return (repo.objects.root / digest[:2] / digest[2:]).as_uri()

    return Author(str(repo.dot), put, object_url, outside)


@pytest.fixture
def hostile_commit(work: Path, qvc: Qvc) -> Callable[[Build], str]:
    """Store a hostile manifest and a commit record for it in ``work``'s own repository."""
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "base", cwd=work)
    repo = Repo(work)
    author = local_author(repo, work.parent / "outside")
    author.outside.mkdir()

    def store(build: Build) -> str:
        raw, top = build(author)
        (repo.dot / ".quilt" / "packages" / top).write_bytes(raw)
        repo.write_commit(Commit(top, repo.head_id(), time.time_ns(), "mallory", "hostile"))
        return top

    return store


@pytest.mark.parametrize("kind,case", matrix({**KEY_CASES, **FORMAT_CASES},
                                             {"dotdot", "qvc-head", "truncated",
                                              "top-hash-mismatch"}, ("local",), ("local",)))
def test_checkout_rejects_hostile_local_manifest(work: Path, qvc: Qvc,
                                                 hostile_commit: Callable[[Build], str],
                                                 kind: str, case: str) -> None:
    top = hostile_commit({**KEY_CASES, **FORMAT_CASES}[case])
    before = snapshot(work.parent, exclude=(work / ".qvc",))
    result = qvc("checkout", top, cwd=work, ok=False)
    assert_clean_error(result.code, result.err, 8)
    assert snapshot(work.parent, exclude=(work / ".qvc",)) == before


# symbolic links in the work tree --------------------------------------------------------------


@pytest.fixture
def outside(work: Path) -> Path:
    """A folder next to the work tree holding a secret, and its snapshot."""
    folder = work.parent / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(SECRET)
    return folder


def test_add_and_status_never_follow_links_out(work: Path, outside: Path, qvc: Qvc) -> None:
    (work / "linkdir").symlink_to(outside)
    (work / "link.txt").symlink_to(outside / "secret.txt")
    before = snapshot(outside)
    added = qvc("add", ".", cwd=work, ok=False)
    assert "Traceback" not in added.err
    status = qvc("status", "--json", cwd=work, ok=False)
    assert "Traceback" not in status.err
    assert "linkdir/secret.txt" not in status.out
    qvc("commit", "-m", "c", cwd=work, ok=False)
    listed = qvc("ls", cwd=work, ok=False).out
    assert "secret" not in listed and "link.txt" not in listed
    assert not contains_bytes(work / ".qvc", SECRET), "data behind a link was stored"
    assert snapshot(outside) == before


def test_checkout_never_writes_through_a_linked_folder(work: Path, outside: Path,
                                                       qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "c", cwd=work)
    (work / "data" / "nested" / "deep.txt").unlink()
    (work / "data" / "nested").rmdir()
    (work / "data" / "nested").symlink_to(outside)
    before = snapshot(outside)
    for args in (["checkout", "HEAD", "--", "data/nested/deep.txt"],
                 ["checkout", "--force", "HEAD"]):
        result = qvc(*args, cwd=work, ok=False)
        assert_clean_error(result.code, result.err, 4, "link")
        assert snapshot(outside) == before
    assert not (outside / "deep.txt").exists()


def test_checkout_replaces_a_final_link_instead_of_writing_through(work: Path, outside: Path,
                                                                   qvc: Qvc) -> None:
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "c", cwd=work)
    (work / "README.md").unlink()
    (work / "README.md").symlink_to(outside / "secret.txt")
    before = snapshot(outside)
    result = qvc("checkout", "--force", "HEAD", cwd=work, ok=False)
    assert "Traceback" not in result.err
    assert snapshot(outside) == before
    if result.code == 0:
        assert not (work / "README.md").is_symlink()
        assert (work / "README.md").read_text() == "# hello\n"


def test_pull_never_writes_through_a_linked_folder(tmp_path: Path, work: Path, outside: Path,
                                                   qvc: Qvc) -> None:
    registry = tmp_path / "registry"
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "c", cwd=work)
    qvc("push", str(registry), cwd=work)
    other = tmp_path / "other"
    other.mkdir()
    qvc("init", NAME, cwd=other)
    (other / "data").symlink_to(outside)
    before = snapshot(outside)
    result = qvc("pull", str(registry), cwd=other, ok=False)
    assert result.code != 0
    assert_clean_error(result.code, result.err, result.code)
    assert snapshot(outside) == before


# names git or qvc would take for their own state ----------------------------------------------


FSMONITOR = b'[core]\n\tfsmonitor = "touch pwned"\n'


def _git_config(author: Author) -> tuple[bytes, str]:
    return manifest_bytes([author.entry("ok.txt"),
                           author.entry(".git/config", FSMONITOR),
                           author.entry(".git/HEAD", b"ref: refs/heads/main\n")])


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_story_a_package_carrying_a_git_config_is_refused(
        request: pytest.FixtureRequest, tmp_path: Path, qvc: Qvc, kind: str) -> None:
    """A package whose keys hold ``.git/config`` (core.fsmonitor runs a command on the next
    ``git status``) clones into nothing: refused, naming the key, no ``.git``, no files."""
    scene = make_scene(kind, request, tmp_path)
    scene.author.publish(*_git_config(scene.author))
    before = scene.everything()
    result = qvc("clone", scene.author.url, NAME, "dst", cwd=scene.clones, ok=False)
    assert_clean_error(result.code, result.err, 8, "'.git/", "names .git or .qvc")
    assert not (scene.clones / "dst").exists()
    assert not any(p.name.lower().startswith(".git") for p in scene.clones.rglob("*"))
    assert_untouched(scene, before)


def test_api_browse_and_fetch_refuse_a_git_folder(tmp_path: Path) -> None:
    import qvc as api

    scene = folder_scene(tmp_path)
    scene.author.outside.mkdir()
    scene.author.publish(*_git_config(scene.author))
    with pytest.raises(BadManifest, match="names .git or .qvc"):
        api.Package.browse(NAME, scene.author.url)
    built = api.Package()
    payload = tmp_path / "config"
    payload.write_bytes(FSMONITOR)
    for key in (".git/config", "GIT~1/config", "data/.Git./hooks/x"):
        with pytest.raises(PathError):
            built.set(key, str(payload))
    assert not any(p.name.lower().startswith(".git") for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("name", [".git", ".GIT", ".git.", ".git ", "git~1", "QVC~1", ".Qvc"])
def test_add_never_tracks_files_under_a_git_named_folder(work: Path, qvc: Qvc,
                                                         name: str) -> None:
    folder = work / "data" / name
    folder.mkdir()
    (folder / "config").write_bytes(FSMONITOR)
    qvc("add", ".", cwd=work)
    status = json.loads(qvc("status", "--json", cwd=work).out)
    assert not [k for k in json.dumps(status).split('"') if k.endswith("/config")]
    explicit = qvc("add", f"data/{name}/config", cwd=work, ok=False)
    assert_clean_error(explicit.code, explicit.err, 4, ".git or .qvc")
    qvc("commit", "-m", "c", cwd=work)
    assert not [k for k in qvc("ls", cwd=work).out.split() if "config" in k]


# hash values that are not hashes -------------------------------------------------------------


def test_verify_repair_and_checkout_never_touch_a_file_a_hash_value_names(
        work: Path, qvc: Qvc, hostile_commit: Callable[[Build], str]) -> None:
    top = hostile_commit(FORMAT_CASES["sha256-dotdot"])
    repo = Repo(work)
    commit_id = next(cid for cid, c in repo.all_commits() if c.top_hash == top)
    outside = work.parent / "outside"
    (outside / "secret.txt").write_bytes(SECRET)
    before = snapshot(work.parent, exclude=(work / ".qvc",))
    for args in (["checkout", top], ["checkout", "--force", top]):
        result = qvc(*args, cwd=work, ok=False)
        assert_clean_error(result.code, result.err, 8, "not 64 lowercase hex")
        assert "'../../../outside/secret.txt'" in result.err
    repo.set_head(commit_id, "test: a hostile version at HEAD")
    for args in (["verify"], ["verify", "--repair"], ["status"]):
        result = qvc(*args, cwd=work, ok=False)
        assert "Traceback" not in result.err and result.code != 0
    assert snapshot(work.parent, exclude=(work / ".qvc",)) == before
    assert (outside / "secret.txt").read_bytes() == SECRET


def test_object_names_refuse_values_shaped_like_paths(work: Path) -> None:
    objects = Repo(work).objects
    for bad in (Hash("SHA256", "../../x"), Hash("sha2-256-chunked", "Li4vLi4v"),
                Hash("SHA256", "ab/" * 21 + "a"), Hash("CRC64NVME", "../x")):
        with pytest.raises(CorruptObject):
            objects.path(bad)


# pointers and versions that are damaged --------------------------------------------------------


def _pointer(author: Author, pointer: str, value: bytes) -> None:
    author.put(f".quilt/named_packages/{NAME}/{pointer}", value)


def _version(author: Author, content: bytes) -> str:
    raw, top = manifest_bytes([author.entry("ok.txt", content)])
    author.put(f".quilt/packages/{top}", raw)
    return top


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_odd_pointer_names_and_values_are_ignored_with_a_warning(
        request: pytest.FixtureRequest, tmp_path: Path, qvc: Qvc, kind: str) -> None:
    scene = make_scene(kind, request, tmp_path)
    good = _version(scene.author, b"good\n")
    _pointer(scene.author, "1700000000", good.encode())
    _pointer(scene.author, "latest", good.encode())
    _pointer(scene.author, "170000000\u00b2", good.encode())  # str.isdigit() says yes
    _pointer(scene.author, "1" * 30, good.encode())
    _pointer(scene.author, "1700000001", b"../../../outside/secret.txt")
    _pointer(scene.author, "1700000002", b"\xff\x00garbage")
    cloned = qvc("clone", scene.author.url, NAME, "dst", cwd=scene.clones)
    assert "ignored pointer '170000000\u00b2'" in cloned.err
    assert f"ignored pointer '{'1' * 30}'" in cloned.err
    assert "ignored pointer 1700000001" in cloned.err and "not a top hash" in cloned.err
    assert "Traceback" not in cloned.err
    assert (scene.clones / "dst" / "ok.txt").read_bytes() == b"good\n"
    log = qvc("log", "--oneline", cwd=scene.clones / "dst").out
    assert len(log.splitlines()) == 1
    fetched = json.loads(qvc("fetch", "--json", cwd=scene.clones / "dst").out)
    assert fetched["latest"] == good


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_a_garbage_latest_is_reported_as_damaged_not_missing(
        request: pytest.FixtureRequest, tmp_path: Path, qvc: Qvc, kind: str) -> None:
    scene = make_scene(kind, request, tmp_path)
    good = _version(scene.author, b"good\n")
    _pointer(scene.author, "1700000000", good.encode())
    _pointer(scene.author, "latest", b"not a hash\n")
    result = qvc("clone", scene.author.url, NAME, "dst", cwd=scene.clones, ok=False)
    assert_clean_error(result.code, result.err, 8, "'latest'", "damaged", "'not a hash'")
    assert "no package" not in result.err
    assert not (scene.clones / "dst").exists()
    qvc("clone", scene.author.url, NAME, "dst", "--rev", good, cwd=scene.clones)
    assert (scene.clones / "dst" / "ok.txt").read_bytes() == b"good\n"


@pytest.mark.parametrize("damage", ["unparsable", "hostile-key", "missing"])
@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_one_bad_version_does_not_block_the_others(
        request: pytest.FixtureRequest, tmp_path: Path, qvc: Qvc, kind: str,
        damage: str) -> None:
    scene = make_scene(kind, request, tmp_path)
    good = _version(scene.author, b"good\n")
    if damage == "hostile-key":
        raw, bad = keys(".git/config")(scene.author)
    else:
        raw, bad = manifest_bytes([scene.author.entry("ok.txt", b"bad\n")])
    if damage == "unparsable":
        raw = raw[:-30]
    if damage != "missing":
        scene.author.put(f".quilt/packages/{bad}", raw)
    newest = _version(scene.author, b"newest\n")
    _pointer(scene.author, "1700000000", good.encode())
    _pointer(scene.author, "1700000001", bad.encode())
    _pointer(scene.author, "1700000002", newest.encode())
    _pointer(scene.author, "latest", newest.encode())
    cloned = qvc("clone", scene.author.url, NAME, "dst", "--rev", good, cwd=scene.clones)
    assert f"skipped version {bad[:12]}" in cloned.err
    assert (scene.clones / "dst" / "ok.txt").read_bytes() == b"good\n"
    dst = scene.clones / "dst"
    fetched = json.loads(qvc("fetch", "--json", cwd=dst).out)
    assert [s["top_hash"] for s in fetched["skipped"]] == [bad]
    assert fetched["latest"] == newest
    qvc("pull", cwd=dst)
    assert (dst / "ok.txt").read_bytes() == b"newest\n"
    wanted = qvc("clone", scene.author.url, NAME, "bad", "--rev", bad, cwd=scene.clones,
                 ok=False)
    assert wanted.code in (2, 8) and "Traceback" not in wanted.err
    assert not (scene.clones / "bad").exists()


# commit records that would loop ----------------------------------------------------------------


def _self_parent(record: bytes, commit_id: str) -> bytes:
    raw = json.loads(record)
    raw["parent"] = commit_id
    return json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()


def test_a_record_naming_itself_as_parent_stops_no_command(tmp_path: Path, work: Path) -> None:
    """A record planted in .qvc/commits whose parent is itself: every command that walks the
    history ends with a clean error (never hangs), in a separate process with a time limit."""
    registry = tmp_path / "registry"
    for args in (["add", "."], ["commit", "-m", "one"], ["push", str(registry)]):
        assert run_qvc_process(*args, cwd=work).returncode == 0
    (work / "README.md").write_text("changed\n")
    for args in (["add", "."], ["commit", "-m", "two"]):
        assert run_qvc_process(*args, cwd=work).returncode == 0
    repo = Repo(work)
    head = repo.head_id()
    assert head is not None
    record = repo.paths.commits / head
    record.chmod(0o644)
    record.write_bytes(_self_parent(record.read_bytes(), head))
    for args in (["status"], ["log"], ["log", "--graph"], ["push", str(registry)], ["verify"]):
        done = run_qvc_process(*args, cwd=work, timeout=60)
        assert done.returncode != 0, args
        assert_clean_error(done.returncode, done.stderr, 3, "damaged")


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_a_registry_record_naming_itself_as_parent_is_refused(
        request: pytest.FixtureRequest, tmp_path: Path, qvc: Qvc, kind: str) -> None:
    scene = make_scene(kind, request, tmp_path)
    good = _version(scene.author, b"good\n")
    _pointer(scene.author, "1700000000", good.encode())
    _pointer(scene.author, "latest", good.encode())
    record = Commit(good, None, 1, "mallory", "loop")
    looped = _self_parent(record.encode(), record.id)
    scene.author.put(f".quilt/qvc/history/{NAME}/{record.id}", looped)
    cloned = qvc("clone", scene.author.url, NAME, "dst", cwd=scene.clones)
    assert f"refused commit record {record.id[:12]}" in cloned.err
    dst = scene.clones / "dst"
    assert (dst / "ok.txt").read_bytes() == b"good\n"
    for args in (["status"], ["log"], ["fetch"]):
        assert "Traceback" not in qvc(*args, cwd=dst).err


# a folder registry with planted links ---------------------------------------------------------


@pytest.mark.parametrize("planted", [
    ".quilt/named_packages/test",  # the namespace folder of the pointers
    ".quilt/named_packages",
    ".quilt/packages",  # manifests
    ".quilt/qvc",  # commit records
    "test",  # the data prefix test/pkg/
    "test/pkg",
])
@pytest.mark.parametrize("fresh", [True, False], ids=["first-push", "second-push"])
def test_push_never_writes_through_a_link_in_a_folder_registry(
        tmp_path: Path, work: Path, outside: Path, qvc: Qvc, planted: str, fresh: bool) -> None:
    registry = tmp_path / "registry"
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "one", cwd=work)
    if not fresh:
        qvc("push", str(registry), cwd=work)
        (work / "README.md").write_text("two\n")
        qvc("add", ".", cwd=work)
        qvc("commit", "-m", "two", cwd=work)
    link = registry / planted
    if link.exists():
        import shutil

        shutil.rmtree(link)
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    result = qvc("push", str(registry), cwd=work, ok=False)
    if planted == ".quilt/packages" and not fresh:  # reading latest's manifest fails first
        assert_clean_error(result.code, result.err, 2, "no manifest")
    else:
        assert_clean_error(result.code, result.err, 4, "symbolic link", planted)
    assert snapshot(outside) == before


def test_a_linked_latest_is_replaced_not_written_through(tmp_path: Path, work: Path,
                                                         outside: Path, qvc: Qvc) -> None:
    registry = tmp_path / "registry"
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "one", cwd=work)
    qvc("push", str(registry), cwd=work)
    latest = registry / ".quilt" / "named_packages" / NAME / "latest"
    top = latest.read_bytes()
    (outside / "latest").write_bytes(top)
    latest.unlink()
    latest.symlink_to(outside / "latest")
    (work / "README.md").write_text("two\n")
    qvc("add", ".", cwd=work)
    qvc("commit", "-m", "two", cwd=work)
    before = snapshot(outside)
    result = qvc("push", str(registry), cwd=work, ok=False)
    assert "Traceback" not in result.err
    assert snapshot(outside) == before
    if result.code == 0:
        assert not latest.is_symlink() and latest.read_bytes() != top


# the Python API over hostile registries --------------------------------------------------------


@pytest.mark.parametrize("case", ["file-url-outside", "file-url-dotdot", "other-bucket"])
@pytest.mark.parametrize("kind", ["s3"])  # a folder registry is local: build() keeps paths
def test_api_browse_applies_the_physical_key_check_of_clone(
        request: pytest.FixtureRequest, tmp_path: Path, kind: str, case: str) -> None:
    """A browsed remote manifest naming a local file (or another bucket) is refused, so
    neither ``fetch()`` copies the secret in nor ``push()`` uploads it elsewhere."""
    import qvc as api

    scene = make_scene(kind, request, tmp_path)
    scene.author.publish(*PHYSICAL_CASES[case](scene.author))
    before = scene.everything()
    with pytest.raises(BadManifest, match="points outside"):
        api.Package.browse(NAME, scene.author.url)
    assert_untouched(scene, before)


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_api_push_verifies_local_files_before_uploading(
        request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> None:
    import qvc as api

    scene = make_scene(kind, request, tmp_path)
    source = tmp_path / "source.txt"
    source.write_bytes(b"as hashed\n")
    pkg = api.Package().set("a.txt", str(source))
    assert pkg.top_hash
    source.write_bytes(SECRET[: len(b"as hashed\n")])  # same size, other bytes
    with pytest.raises(CorruptObject, match="changed since"):
        pkg.push(NAME, scene.author.url, force=True)
    if kind == "folder":
        assert not contains_bytes(Path(scene.author.url), SECRET[:10])
    else:
        listed = s3_keys(request, scene.author.url)
        assert listed == [], listed


def s3_keys(request: pytest.FixtureRequest, url: str) -> list[str]:
    client = request.getfixturevalue("s3").client()
    found = client.list_objects_v2(Bucket=url[len("s3://"):]).get("Contents", [])
    return [o["Key"] for o in found]
