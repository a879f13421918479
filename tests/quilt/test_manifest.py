"""qvc.quilt.manifest: reading hostile manifests safely, writing them as quilt3 does, and diffs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qvc.errors import BadManifest, InvalidJSON
from qvc.quilt.hashing import CHUNKED, Hash, chunked_bytes
from qvc.quilt.manifest import Entry, Manifest, diff, key_problem, parse, validate_meta

HEADER = '{"version": "v0", "message": "m"}'


def row(key: Any, data: bytes = b"x", **changes: Any) -> str:
    value: dict[str, Any] = {"logical_key": key, "physical_keys": ["file:///tmp/x"],
                             "size": len(data), "hash": chunked_bytes(data).as_dict(), "meta": {}}
    value.update(changes)
    return json.dumps(value, ensure_ascii=False)


def manifest_of(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def entry(key: str, data: bytes, meta: dict[str, Any] | None = None) -> Entry:
    return Entry(key, f"file:///o/{key}", len(data), chunked_bytes(data), meta or {})


@pytest.mark.parametrize("key", [
    "../x", "../../x", "a/../../x", "/abs", "//x", "a//b", "a/./b", ".", "..", "", "a/",
    ".qvc/HEAD", ".QVC/x", "a\x00b", "a\nb", "tab\there", 7, None,
])
def test_hostile_logical_keys_reject_the_whole_manifest(key: Any) -> None:
    with pytest.raises(BadManifest):
        parse(manifest_of(row("ok.txt"), row(key)))


# every name some platform takes for .git or .qvc (git refuses the same in its own trees)
RESERVED_KEYS = [
    ".git/config", ".GIT/HEAD", "data/.Git/config", ".git./config", ".git /config",
    ".git. . /config", "git~1/config", "GIT~2/hooks/x", "qvc~1/HEAD", "a/QVC~1/x", ".qvc",
    "a/.qvc/HEAD", ".qvc./HEAD", ".git::$INDEX_ALLOCATION/config", "\u200c.git/config",
    ".g\u200dit/config", ".gi\ufefft/config", ".git",
]


@pytest.mark.parametrize("key", RESERVED_KEYS)
def test_keys_naming_git_or_qvc_folders_are_refused(key: str) -> None:
    assert key_problem(key) == "path segment that names .git or .qvc"
    with pytest.raises(BadManifest, match="names .git or .qvc"):
        parse(manifest_of(row("ok.txt"), row(key)))


@pytest.mark.parametrize("key", [".gitignore", ".github/workflows/ci.yml", "git/x", "x.git",
                                 "git~/x", "agit~1", ".gitx/y", "git~1x", "data/.qvcignore"])
def test_names_that_only_look_like_git_are_kept(key: str) -> None:
    assert key_problem(key) is None
    assert list(parse(manifest_of(row(key))).entries) == [key]


def test_a_backslash_is_an_ordinary_key_character() -> None:
    """One POSIX file name, as quilt3 takes it; '..' only ever means a '/'-separated part."""
    assert "a\\..\\b" in parse(manifest_of(row("ok.txt"), row("a\\..\\b"))).entries


@pytest.mark.parametrize("rows", [
    [row("a"), row("a/b")],  # a file and a folder at once
    [row("É.txt"), row("E\u0301.txt")],  # the same name in NFC and NFD
    [row("a"), row("a")],  # duplicate
])
def test_colliding_keys_are_rejected(rows: list[str]) -> None:
    with pytest.raises(BadManifest):
        parse(manifest_of(*rows))


@pytest.mark.parametrize("data", [
    b"",
    b"\n",
    b"[1, 2]\n",
    b"not json\n",
    b"\xff\xfe\n",
    manifest_of(row("a")) + b"\n",  # blank line
    manifest_of(row("a"))[:-20],  # cut mid-line
    manifest_of(row("a", size=-1)),
    manifest_of(row("a", size=True)),
    manifest_of(row("a", size="1")),
    manifest_of(row("a", hash={"type": "MD5", "value": "x"})),
    manifest_of(row("a", hash=None)),
    manifest_of(row("a", meta=[1])),
    manifest_of(row("a", physical_keys="file:///x")),
    manifest_of(json.dumps({"logical_key": "a", "physical_keys": []})),  # dir meta not ending /
    manifest_of(json.dumps({"logical_key": "../", "meta": {}})),
    manifest_of('"just a string"'),
])
def test_malformed_manifests_raise_bad_manifest(data: bytes) -> None:
    with pytest.raises(BadManifest):
        parse(data)


def test_oversized_line_is_refused_both_ways() -> None:
    huge = {"blob": "x" * 1_000_000}
    with pytest.raises(BadManifest):
        parse(manifest_of(row("a", meta=huge)))
    manifest = Manifest(entries={"a": entry("a", b"x", {"user_meta": huge})})
    with pytest.raises(BadManifest):
        manifest.dumps()


def test_content_must_hash_to_the_expected_name() -> None:
    data = manifest_of(row("a"))
    good = parse(data).top_hash()
    assert parse(data, expected_top_hash=good).top_hash() == good
    with pytest.raises(BadManifest, match="hashes to"):
        parse(data, expected_top_hash="0" * 64)
    tampered = data.replace(b'"message": "m"', b'"message": "n"')
    with pytest.raises(BadManifest):
        parse(tampered, expected_top_hash=good)


def test_missing_meta_reads_as_empty() -> None:
    """quilt3's loader crashes on a row without meta; qvc reads it as {} (quilt-rs agrees)."""
    no_meta = json.loads(row("a"))
    del no_meta["meta"]
    with_meta = parse(manifest_of(row("a")))
    assert parse(manifest_of(json.dumps(no_meta))).top_hash() == with_meta.top_hash()


def test_round_trip_keeps_unknown_header_keys_and_dir_meta() -> None:
    header = ('{"version": "v0", "user_meta": {"z": 1, "a": [1.5]}, "workflow": {"id": null}, '
              '"message": "m", "x": 1}')
    data = manifest_of(json.dumps({"logical_key": "d/", "meta": {"k": 1}}),
                       row("d/f.txt", meta={"user_meta": {"rows": 3}}), row("é.txt"), header=header)
    manifest = parse(data)
    assert manifest.dumps() == data
    assert list(manifest.header) == ["version", "user_meta", "workflow", "message", "x"]
    assert manifest.entries["d/f.txt"].user_meta == {"rows": 3}
    assert manifest.entries["é.txt"].user_meta == {}
    assert manifest.user_meta == {"z": 1, "a": [1.5]}
    assert manifest.message == "m"


def test_written_bytes_are_quilt3_style_json() -> None:
    manifest = Manifest(header={"version": "v0", "message": "ü"},
                        entries={"b é.txt": entry("b é.txt", b"1")})
    text = manifest.dumps().decode()
    assert text.endswith("}\n") and "\n\n" not in text
    assert '"message": "ü"' in text  # raw UTF-8, ", " and ": " separators
    assert '"logical_key": "b é.txt", "physical_keys": ["file:///o/b é.txt"], "size": 1' in text


def test_entry_meta_changes_the_top_hash_but_physical_keys_do_not() -> None:
    a = Manifest(entries={"f": entry("f", b"1")})
    b = Manifest(entries={"f": entry("f", b"1", {"user_meta": {"k": 1}})})
    moved = entry("f", b"1")
    moved.physical_key = "s3://bucket/f?versionId=1"
    c = Manifest(entries={"f": moved})
    assert a.top_hash() != b.top_hash()
    assert a.top_hash() == c.top_hash()


def test_diff_classifies_every_kind_of_change() -> None:
    old = Manifest(entries={
        "same": entry("same", b"s"), "edit": entry("edit", b"1"), "gone": entry("gone", b"g"),
        "meta": entry("meta", b"m"), "from": entry("from", b"moved"),
    })
    new = Manifest(header={"version": "v0", "message": "other"}, entries={
        "same": entry("same", b"s"), "edit": entry("edit", b"2"), "new": entry("new", b"n"),
        "meta": entry("meta", b"m", {"user_meta": 1}), "to/here": entry("to/here", b"moved"),
    })
    d = diff(old, new)
    assert (d.added, d.removed) == (["new"], ["gone"])
    assert (d.modified, d.meta_changed) == (["edit"], ["meta"])
    assert d.renamed == [("from", "to/here")]
    assert not d.header_changed  # the message alone is not a change of content
    assert diff(old, old).empty
    assert diff(old, Manifest(header={"version": "v0", "user_meta": {}},
                              entries=old.entries)).header_changed


@pytest.mark.parametrize("value", [float("nan"), {"a": float("inf")}, [float("-inf")], {1j}])
def test_metadata_that_json_cannot_hold_is_refused(value: Any) -> None:
    with pytest.raises(InvalidJSON):
        validate_meta(value)


@pytest.mark.parametrize("value", [None, {}, [], "s", 1.5, {"nested": {"ü": [None, True]}}])
def test_plain_json_metadata_is_accepted(value: Any) -> None:
    assert validate_meta(value) == value


GOOD_CHUNKED = chunked_bytes(b"x").value


@pytest.mark.parametrize("hash_value,shown", [
    ({"type": "SHA256", "value": "../../../outside/notes.txt"}, "'../../../outside/notes.txt'"),
    ({"type": "SHA256", "value": "AB" * 32}, "not 64 lowercase hex"),
    ({"type": "SHA256", "value": "ab" * 31}, "not 64 lowercase hex"),
    ({"type": "SHA256", "value": "ab" * 32 + "\n"}, "not 64 lowercase hex"),
    ({"type": "SHA256", "value": "ab" * 31 + "a\x00"}, "not 64 lowercase hex"),
    ({"type": "SHA256", "value": ""}, "empty"),
    ({"type": CHUNKED, "value": ""}, "empty"),
    ({"type": CHUNKED, "value": "../../x"}, "not base64 of 32 bytes"),
    ({"type": CHUNKED, "value": GOOD_CHUNKED[:-4]}, "not base64 of 32 bytes"),
    ({"type": CHUNKED, "value": GOOD_CHUNKED[:-1] + "\x00"}, "not base64 of 32 bytes"),
    ({"type": CHUNKED, "value": GOOD_CHUNKED + "AAAA"}, "not base64 of 32 bytes"),
    ({"type": CHUNKED, "value": GOOD_CHUNKED.replace("=", "") + "\n="}, "not base64"),
    ({"type": CHUNKED, "value": "ab" * 32}, "not base64 of 32 bytes"),
    ({"type": "CRC64NVME", "value": GOOD_CHUNKED}, "not base64 of 8 bytes"),
    ({"type": CHUNKED, "value": "x" * 5000}, "..."),
    ({"type": "sha256", "value": "ab" * 32}, "unknown hash type"),
    ({"type": None, "value": "ab" * 32}, "unknown hash type"),
])
def test_hash_values_are_checked_when_parsed(hash_value: dict[str, Any], shown: str) -> None:
    with pytest.raises(BadManifest) as raised:
        parse(manifest_of(row("a", hash=hash_value)))
    message = raised.value.message
    assert shown in message
    assert "\n" not in message and "\x00" not in message and len(message) < 200


def test_hash_value_types_are_preserved() -> None:
    legacy = json.loads(row("a"))
    legacy["hash"] = {"type": "SHA256", "value": "ab" * 32}
    manifest = parse(manifest_of(json.dumps(legacy)))
    assert manifest.entries["a"].hash == Hash("SHA256", "ab" * 32)
    assert parse(manifest_of(row("b"))).entries["b"].hash.type == CHUNKED


def test_key_with_a_lone_surrogate_escape_is_rejected() -> None:
    """JSON can spell a lone surrogate (\\udcff): no file system name can hold it as UTF-8."""
    hostile = row("x").replace('"logical_key": "x"', '"logical_key": "bad\\udcff.txt"')
    with pytest.raises(BadManifest, match="UTF-8"):
        parse(manifest_of(hostile))
