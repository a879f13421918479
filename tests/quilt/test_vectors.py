"""The golden vectors made with quilt3 8.0.0 reproduce exactly with qvc's code and CLI.

The vectors (made by the real quilt3 client) are copied into tests/vectors; QVC_VECTORS points
elsewhere, e.g. at a fresh set.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from qvc.core.objects import ObjectStore
from qvc.errors import BadManifest, InvalidName, PathError
from qvc.quilt import hashing
from qvc.quilt.hashing import CHUNKED, LEGACY_SHA256, Hash
from qvc.quilt.manifest import Entry, Manifest, key_problem, parse, top_hash, validate_key
from qvc.quilt.manifest import validate_package_name as validate_name
from tests.conftest import Qvc

VECTORS = Path(os.environ.get("QVC_VECTORS") or Path(__file__).resolve().parent / "vectors")

PACKAGES: dict[str, Any] = json.loads((VECTORS / "local_packages.json").read_text())
SUMMARY: dict[str, Any] = json.loads((VECTORS / "summary.json").read_text())
VARIANTS: dict[str, Any] = json.loads((VECTORS / "variants_and_validation.json").read_text())
BIG: list[dict[str, Any]] = list(PACKAGES["c_big"]["files"])


def pattern(size: int) -> bytes:
    block = bytes(range(251))
    return (block * (size // 251 + 1))[:size]


def manifest_bytes(tag: str) -> bytes:
    return (VECTORS / str(PACKAGES[tag]["manifest_file"])).read_bytes()


# --- manifests ------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", sorted(PACKAGES))
def test_manifest_files_parse_and_hash_to_their_name(tag: str) -> None:
    record = PACKAGES[tag]
    manifest = parse(manifest_bytes(tag), expected_top_hash=record["top_hash"])
    assert manifest.top_hash() == record["top_hash"] == SUMMARY[tag]["top_hash"]
    assert {k: e.hash.as_dict() for k, e in manifest.entries.items()} == SUMMARY[tag]["entries"]
    assert record["manifest_text"].encode() == manifest_bytes(tag)


@pytest.mark.parametrize("tag", sorted(PACKAGES))
def test_manifests_are_written_byte_for_byte_as_quilt3_does(tag: str) -> None:
    assert parse(manifest_bytes(tag)).dumps() == manifest_bytes(tag)


@pytest.mark.parametrize("tag", sorted(PACKAGES))
def test_top_hash_from_entries_built_in_any_order(tag: str) -> None:
    record = PACKAGES[tag]
    header = json.loads(record["manifest_text"].split("\n", 1)[0])
    rows = [Entry(e["logical_key"], e["physical_key"], e["size"], Hash(**e["hash"]), e["meta_raw"])
            for e in record["entries"]]
    for ordering in (rows, rows[::-1]):
        manifest = Manifest(header=dict(header), entries={e.logical_key: e for e in ordering})
        assert manifest.top_hash() == record["top_hash"]
    assert top_hash(header, reversed(rows)) != record["top_hash"] or len(rows) == 1


def test_walk_order_is_per_segment_not_whole_string() -> None:
    record = PACKAGES["e_order"]
    manifest = parse(manifest_bytes("e_order"))
    assert [e.logical_key for e in manifest.walk()] == record["walk_order"]
    assert sorted(record["walk_order"]) == record["plain_string_sort_order"]


def test_top_hash_input_lines_are_reproduced_exactly() -> None:
    """Sorted keys, compact separators, ASCII escapes with surrogate pairs, Python floats."""
    record = PACKAGES["e_order"]
    manifest = parse(manifest_bytes("e_order"))
    header_line, *entry_lines = record["top_hash_input_lines"]
    assert [e.hash_part() for e in manifest.walk()] == entry_lines
    assert json.dumps(manifest.header, sort_keys=True, separators=(",", ":")) == header_line
    meta = manifest.entries["a.txt"].user_meta
    assert meta["neg"] == 0.0 and str(meta["neg"]) == "-0.0"
    assert meta["big"] == 12345678901234567890
    digest = hashlib.sha256("".join(record["top_hash_input_lines"]).encode()).hexdigest()
    assert digest == record["top_hash"]


def test_directory_meta_is_kept_but_not_hashed() -> None:
    record = PACKAGES["d_dirmeta"]
    manifest = parse(manifest_bytes("d_dirmeta"))
    assert manifest.dir_meta == {"sub/": {"dirkey": "dirval"}}
    assert manifest.header["user_meta"] is None
    without = Manifest(header=manifest.header, entries=manifest.entries)
    assert without.top_hash() == record["same_package_without_dir_meta_top_hash"]


# --- file hashes ----------------------------------------------------------------------------


def small_files() -> list[tuple[str, dict[str, Any]]]:
    return [(tag, f) for tag, rec in PACKAGES.items() for f in rec["files"] if "size" in f
            and "content_utf8" in f]


@pytest.mark.parametrize(("tag", "record"), small_files(),
                         ids=[f"{t}:{f['logical_key']}" for t, f in small_files()])
def test_small_file_hashes(tag: str, record: dict[str, Any], tmp_path: Path) -> None:
    data = record["content_utf8"].encode()
    assert len(data) == record["size"]
    assert hashing.chunked_bytes(data).value == record["expected_sha2_256_chunked"]
    assert hashing.sha256_bytes(data).value == record["legacy_SHA256_hex"]
    path = tmp_path / "f"
    path.write_bytes(data)
    store = ObjectStore(tmp_path / "objects")
    store.tmp.mkdir(parents=True)
    h, st = store.add_file(path)
    assert h == Hash(CHUNKED, record["expected_sha2_256_chunked"])
    assert st.size == record["size"]
    assert store.path(h).read_bytes() == data


@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 8, 9 and 17 MiB files of vector c_big (byte i = i % 251)."""
    folder = tmp_path_factory.mktemp("c_big")
    for f in BIG:
        (folder / f["logical_key"]).write_bytes(pattern(f["size"]))
    return folder


@pytest.mark.parametrize("record", BIG, ids=[f["logical_key"] for f in BIG])
def test_big_file_parts_and_hashes(record: dict[str, Any], big_files: Path, tmp_path: Path) -> None:
    path = big_files / record["logical_key"]
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == record["whole_file_sha256_hex"]
    assert hashing.chunk_size(len(data)) == record["chunk_size"]
    step = record["chunk_size"]
    parts = [base64.b64encode(hashlib.sha256(data[i:i + step]).digest()).decode()
             for i in range(0, len(data), step)]
    assert parts == record["part_sha256_b64"]
    expected = Hash(CHUNKED, record["expected_sha2_256_chunked"])
    assert hashing.chunked_bytes(data) == expected
    assert hashing.hash_file(path) == expected
    store = ObjectStore(tmp_path / "objects")  # the copy-while-hashing path of `qvc add`
    store.tmp.mkdir(parents=True)
    assert store.add_file(path)[0] == expected
    assert store.verify(expected, len(data)) is None


@pytest.mark.parametrize("literal", sorted(VARIANTS["sha2_256_chunked_small_inputs"]))
def test_chunked_hashes_of_tiny_inputs(literal: str) -> None:
    expected = VARIANTS["sha2_256_chunked_small_inputs"][literal]
    data = eval(literal)  # the keys are Python bytes literals such as b'a'
    assert isinstance(data, bytes)
    assert hashing.chunked_bytes(data).value == expected["chunked"] == expected["quilt3"]
    assert hashing.sha256_bytes(data).value == expected["legacy_SHA256"]


def test_multihash_examples_name_the_same_digest() -> None:
    examples = VARIANTS["multihash_hex_examples"]
    empty_sha = Hash(LEGACY_SHA256, hashlib.sha256(b"").hexdigest())
    assert examples["sha2-256 (0x12)"] == "1220" + empty_sha.hex
    digest = base64.b64encode(hashlib.sha256(b"").digest()).decode()
    assert examples["sha2-256-chunked (0xb510)"] == "90ea0220" + Hash(CHUNKED, digest).hex


# --- variants -------------------------------------------------------------------------------


def test_legacy_sha256_manifest(tmp_path: Path) -> None:
    legacy = VARIANTS["legacy_SHA256_manifest"]
    manifest = parse(legacy["text"].encode(), expected_top_hash=legacy["top_hash"])
    entry = manifest.entries["legacy.txt"]
    assert entry.hash.type == LEGACY_SHA256
    assert hashing.hash_bytes(b"legacy\n", LEGACY_SHA256) == entry.hash
    store = ObjectStore(tmp_path)
    assert store.path(entry.hash).relative_to(tmp_path).parts[0] == "sha256"


@pytest.mark.parametrize("header", sorted(VARIANTS["header_only_top_hashes"]))
def test_header_only_top_hashes(header: str) -> None:
    expected = VARIANTS["header_only_top_hashes"][header]["quilt3"]
    assert top_hash(json.loads(header), []) == expected
    assert parse(header.encode() + b"\n").top_hash() == expected


@pytest.mark.parametrize("name", sorted(VARIANTS["validate_package_name"]))
def test_package_names(name: str) -> None:
    """Every name quilt3 rejects is rejected; qvc also refuses non-ASCII on purpose."""
    quilt3_ok = VARIANTS["validate_package_name"][name] == "ok"
    qvc_ok = quilt3_ok and name.isascii()
    if qvc_ok:
        assert validate_name(name) == name
    else:
        with pytest.raises(InvalidName):
            validate_name(name)


@pytest.mark.parametrize("name", ["-x/y", "a/b\n", "ｕｓｒ/pkg", "usr/p١", "a/-", "", "a/b c"])
def test_package_names_qvc_is_stricter_about(name: str) -> None:
    with pytest.raises(InvalidName):
        validate_name(name)


@pytest.mark.parametrize("key", sorted(VARIANTS["logical_key_validation_Package_set"]))
def test_logical_keys(key: str) -> None:
    """Every key quilt3 rejects is rejected, and every one it accepts is accepted."""
    quilt3_ok = VARIANTS["logical_key_validation_Package_set"][key] == "ok"
    if quilt3_ok:
        assert key_problem(key) is None
        assert validate_key(key) == key
    else:
        assert key_problem(key) is not None
        with pytest.raises(PathError):
            validate_key(key)


# --- reader tolerance -----------------------------------------------------------------------

EMPTY_TEXT: str = PACKAGES["b_empty"]["manifest_text"]
EMPTY_HEADER, EMPTY_ROW = EMPTY_TEXT.rstrip("\n").split("\n")


def compact(line: str) -> str:
    return json.dumps(json.loads(line), separators=(",", ":"), ensure_ascii=False)


def with_row(**changes: Any) -> str:
    row = json.loads(EMPTY_ROW)
    row.update(changes)
    return json.dumps(row)


READER_VARIANTS: dict[str, str] = {
    "as_written": EMPTY_TEXT,
    "no_trailing_newline": EMPTY_TEXT.rstrip("\n"),
    "extra_blank_line_at_end": EMPTY_TEXT + "\n",
    "crlf_line_endings": EMPTY_TEXT.replace("\n", "\r\n"),
    "compact_separators": compact(EMPTY_HEADER) + "\n" + compact(EMPTY_ROW) + "\n",
    "legacy_top_hash_key_in_header":
        '{"version": "v0", "message": null, "top_hash": "' + "0" * 64 + '"}\n' + EMPTY_ROW + "\n",
    "extra_unknown_header_key": '{"version": "v0", "foo": 1, "message": null}\n' + EMPTY_ROW,
    "header_without_message": '{"version": "v0"}\n' + EMPTY_ROW + "\n",
    "version_v1": '{"version": "v1", "message": null}\n' + EMPTY_ROW + "\n",
    "duplicate_logical_key": EMPTY_TEXT + EMPTY_ROW + "\n",
    "two_physical_keys": EMPTY_HEADER + "\n" + with_row(
        physical_keys=["s3://b/k", json.loads(EMPTY_ROW)["physical_keys"][0]]) + "\n",
}


@pytest.mark.parametrize("variant", sorted(VARIANTS["reader_tolerance_Package_load"]))
def test_reader_tolerance(variant: str) -> None:
    expected = VARIANTS["reader_tolerance_Package_load"][variant]
    data = READER_VARIANTS[variant].encode()
    if "error" in expected:
        with pytest.raises(BadManifest):
            parse(data)
        return
    manifest = parse(data, expected_top_hash=expected["top_hash"])
    assert [e.physical_key for e in manifest.walk()] == expected["physical_keys"]


def test_meta_null_reads_as_empty_meta() -> None:
    data = (EMPTY_HEADER + "\n" + with_row(meta=None) + "\n").encode()
    manifest = parse(data, expected_top_hash=PACKAGES["b_empty"]["top_hash"])
    assert manifest.entries["empty.bin"].meta == {}


# --- the same files committed with the CLI --------------------------------------------------


E_ORDER_CONTENT = {"B.txt": b"B\n", "a/b.txt": b"ab\n", "a-c.txt": b"a-c\n", "a.txt": b"a\n",
                   "é.txt": b"e\n"}


def write_files(tag: str, root: Path) -> None:
    for f in PACKAGES[tag]["files"]:
        path = root / f["logical_key"]
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = next(e for e in PACKAGES[tag]["entries"] if e["logical_key"] == f["logical_key"])
        if "content_utf8" in f:
            data = f["content_utf8"].encode()
        else:  # e_order records keys only; these contents reproduce its entry hashes
            data = E_ORDER_CONTENT[f["logical_key"]]
        assert hashing.chunked_bytes(data) == Hash(**entry["hash"]), f["logical_key"]
        path.write_bytes(data)


@pytest.mark.parametrize("tag", ["a_small", "c_big", "e_order"])
def test_cli_commit_reproduces_the_vector_top_hash(
    tag: str, tmp_path: Path, qvc: Qvc, big_files: Path
) -> None:
    record = PACKAGES[tag]
    header = json.loads(record["manifest_text"].split("\n", 1)[0])
    root = tmp_path / tag
    root.mkdir()
    if tag == "c_big":
        for f in BIG:
            os.link(big_files / f["logical_key"], root / f["logical_key"])
    else:
        write_files(tag, root)
    qvc("init", record["package_name"], cwd=root)
    qvc("add", ".", cwd=root)
    for entry in record["entries"]:
        if entry["meta_raw"]:
            qvc("add", entry["logical_key"], "--meta", json.dumps(entry["meta_raw"]["user_meta"]))
    top = qvc("commit", "-m", header["message"], "--meta", json.dumps(header["user_meta"])).out
    assert top.strip() == record["top_hash"]
    stored = (root / ".qvc/.quilt/packages" / record["top_hash"]).read_bytes()
    assert parse(stored, expected_top_hash=record["top_hash"]).header == header


def test_cli_commit_of_an_empty_file(tmp_path: Path, qvc: Qvc) -> None:
    """b_empty's header has ``message: null``, which the CLI never writes (-m is required), so
    its entry must match exactly and the top hash must equal the vector's entry under our header."""
    record = PACKAGES["b_empty"]
    (tmp_path / "empty.bin").write_bytes(b"")
    qvc("init", record["package_name"], cwd=tmp_path)
    qvc("add", "empty.bin")
    top = qvc("commit", "-m", "").out.strip()
    vector = parse(manifest_bytes("b_empty"))
    ours = parse((tmp_path / ".qvc/.quilt/packages" / top).read_bytes(), expected_top_hash=top)
    assert ours.header == {"version": "v0", "message": ""}
    assert [e.hash_part() for e in ours.walk()] == [e.hash_part() for e in vector.walk()]
    assert top == top_hash({"version": "v0", "message": ""}, vector.walk())
