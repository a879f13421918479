"""Quilt manifests: entries, JSONL reading and writing, the top hash, and diffs.

Pure: stdlib only, no I/O beyond bytes in and bytes out. Everything a manifest says is checked
on the way in (:func:`parse`), because manifests come from registries other people can write.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from qvc.errors import BadManifest, InvalidJSON, InvalidName, PathError
from qvc.quilt.hashing import Hash, hash_problem

MAX_LINE = 1_000_000
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*/[A-Za-z0-9_][A-Za-z0-9_-]*")
_TOP_HASH = re.compile(r"[0-9a-f]{64}")
_FORBIDDEN_SEGMENTS = {"", ".", ".."}

_write_json = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
_hash_json = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode


def validate_package_name(name: str) -> str:
    """Return ``name`` if it is a Quilt package name ``namespace/name``, else raise.

    Stricter than quilt3 on purpose: ASCII word characters and '-', no leading '-', and no
    trailing newline (quilt3's ``re.match(...$)`` lets ``"a/b\\n"`` through).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidName(f"invalid package name {name!r}")
    return name


def is_top_hash(text: str) -> bool:
    return bool(_TOP_HASH.fullmatch(text))


# Keys whose every segment starts with an ASCII letter, digit, '_' or '-' and holds no control
# character: safe without the checks below (most keys; status checks them all).
_PLAIN_KEY = re.compile(
    r"[\w-][^\x00-\x1f\x7f/\ud800-\udfff]*(?:/[\w-][^\x00-\x1f\x7f/\ud800-\udfff]*)*", re.ASCII)


# Names some file system takes for ``.git`` or ``.qvc``: any case, trailing dots or spaces
# (Windows drops them), an NTFS stream suffix (``.git::$INDEX_ALLOCATION``), characters HFS+
# ignores, or the 8.3 short name (``GIT~1``). A package writing into one could run code
# through git's config (core.fsmonitor) or rewrite qvc's own state.
_RESERVED = re.compile(r"(?:\.(?:git|qvc)[. ]*(?::.*)?|(?:git|qvc)~[0-9]+)", re.IGNORECASE)
_HFS_IGNORED = dict.fromkeys([0x200C, 0x200D, 0x200E, 0x200F, *range(0x202A, 0x202F),
                              *range(0x206A, 0x2070), 0xFEFF])


def reserved_name(name: str) -> bool:
    """Whether the path segment ``name`` is, on some platform, ``.git`` or ``.qvc``."""
    if "." not in name and "~" not in name:
        return False
    return bool(_RESERVED.fullmatch(name.translate(_HFS_IGNORED)))


def key_problem(key: object) -> str | None:
    """Why ``key`` is not a safe logical key, or None when it is."""
    if isinstance(key, str) and _PLAIN_KEY.fullmatch(key) and "~" not in key:
        return None
    if not isinstance(key, str) or not key:
        return "empty logical key"
    if key.startswith("/"):
        return "absolute logical key"
    # A backslash is an ordinary character in a POSIX file name, and quilt3 accepts it. A
    # control character (a newline, say) quilt3 accepts too, but qvc cannot: its index
    # stores the keys one per line.
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        return "control character in logical key"
    if not key.isascii() and _not_utf8(key):
        return "logical key is not valid UTF-8"
    parts = key.split("/")
    if any(p in _FORBIDDEN_SEGMENTS for p in parts):
        return "empty, '.' or '..' path segment"
    if any(reserved_name(p) for p in parts):
        return "path segment that names .git or .qvc"
    return None


def _not_utf8(key: str) -> bool:
    """Lone surrogates: undecodable file-name bytes, or a hostile ``\\udcxx`` JSON escape."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def validate_key(key: str) -> str:
    """Return ``key`` if safe to materialize under a work tree, else raise PathError."""
    problem = key_problem(key)
    if problem:
        raise PathError(f"{problem}: {key!r}",
                        "logical keys are relative paths like 'dir/file.csv'")
    return key


def validate_meta(value: Any) -> Any:
    """Return ``value`` if a manifest can hold it: plain JSON, no NaN or Infinity (quilt3
    refuses those too), else raise InvalidJSON before anything is staged or written."""
    try:
        _write_json(value)
    except (ValueError, TypeError):
        raise InvalidJSON("metadata must be plain JSON without NaN or Infinity") from None
    except RecursionError:
        raise InvalidJSON("metadata is nested too deeply") from None
    return value


def sort_key(logical_key: str) -> tuple[str, ...]:
    """Quilt's walk order: children sorted per path segment (not by the whole string)."""
    return tuple(logical_key.split("/"))


@dataclass(slots=True)
class Entry:
    """One file of a package. ``meta`` is the system meta; user meta lives under ``user_meta``."""

    logical_key: str
    physical_key: str
    size: int
    hash: Hash
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def user_meta(self) -> Any:
        return self.meta.get("user_meta", {})

    def same_content(self, other: Entry) -> bool:
        return self.size == other.size and self.hash == other.hash

    def hash_part(self) -> str:
        """This entry's contribution to the top hash (compact, sorted, ASCII JSON)."""
        if not self.meta:
            return (
                '{"hash":{"type":' + _hash_json(self.hash.type)
                + ',"value":' + _hash_json(self.hash.value)
                + '},"logical_key":' + _hash_json(self.logical_key)
                + ',"meta":{},"size":' + str(self.size) + "}"
            )
        return _hash_json(
            {"hash": self.hash.as_dict(), "logical_key": self.logical_key,
             "meta": self.meta, "size": self.size}
        )

    def line(self) -> str:
        """The JSONL row exactly as quilt3 writes it."""
        if not self.meta and type(self.size) is int:  # the common row, without the encoder
            return (
                '{"logical_key": ' + _write_json(self.logical_key)
                + ', "physical_keys": [' + _write_json(self.physical_key)
                + '], "size": ' + str(self.size)
                + ', "hash": {"type": ' + _write_json(self.hash.type)
                + ', "value": ' + _write_json(self.hash.value) + '}, "meta": {}}'
            )
        return _write_json(
            {"logical_key": self.logical_key, "physical_keys": [self.physical_key],
             "size": self.size, "hash": self.hash.as_dict(), "meta": self.meta}
        )


@dataclass
class Manifest:
    """A package revision: header (package metadata), file entries, and directory-meta rows."""

    header: dict[str, Any] = field(default_factory=lambda: {"version": "v0"})
    entries: dict[str, Entry] = field(default_factory=dict)
    dir_meta: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str | None:
        msg = self.header.get("message")
        return msg if isinstance(msg, str) else None

    @property
    def user_meta(self) -> Any:
        return self.header.get("user_meta")

    def walk(self) -> Iterator[Entry]:
        """Entries in Quilt walk order."""
        for key in sorted(self.entries, key=sort_key):
            yield self.entries[key]

    def top_hash(self) -> str:
        return top_hash(self.header, self.walk())

    def dumps(self) -> bytes:
        """Manifest bytes as quilt3 writes them: header, dir-meta rows, then entries."""
        lines = [_write_json(self.header)]
        lines.extend(
            _write_json({"logical_key": k, "meta": v})
            for k, v in sorted(self.dir_meta.items(), key=lambda kv: sort_key(kv[0]))
        )
        lines.extend(entry.line() for entry in self.walk())
        data = ("\n".join(lines) + "\n").encode("utf-8")
        for line in data.split(b"\n"):
            if len(line) >= MAX_LINE:
                raise BadManifest(
                    "a manifest row is over 1,000,000 bytes", "keep metadata per entry small"
                )
        return data


def top_hash(header: Mapping[str, Any], entries: Iterable[Entry]) -> str:
    """The package top hash over the header and the file entries in walk order."""
    h = hashlib.sha256()
    h.update(_hash_json({k: v for k, v in header.items() if k != "top_hash"}).encode())
    for entry in entries:
        h.update(entry.hash_part().encode())
    return h.hexdigest()


def parse(data: bytes, expected_top_hash: str | None = None, source: str = "manifest") -> Manifest:
    """Read manifest bytes, rejecting anything unsafe or malformed with :class:`BadManifest`.

    With ``expected_top_hash`` the recomputed top hash must equal it (a registry names
    manifests by their top hash, so anything else is corruption or tampering).
    """
    values = _json_lines(data, source)
    header = next(values)
    if not isinstance(header, dict):
        raise BadManifest(f"{source}: line 1 is not a JSON object header")
    header.pop("top_hash", None)
    manifest = Manifest(header=header)
    for number, row in enumerate(values, start=2):
        _add_row(manifest, row, source, number)
    _check_prefixes(manifest, source)
    if expected_top_hash is not None:
        actual = manifest.top_hash()
        if actual != expected_top_hash:
            raise BadManifest(
                f"{source}: content hashes to {actual[:12]}, not {expected_top_hash[:12]}"
            )
    return manifest


# what json.loads runs on a line, without its set-up (typeshed does not declare it)
_DECODER = json.JSONDecoder()
_scan: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _json_lines(data: bytes, source: str) -> Iterator[Any]:
    """The JSON value of each line, in order, each checked as :func:`_json_line` does (the
    header line as it is, the others without trailing carriage returns).

    A line that is plain JSON from its first character to its last is read straight from the
    manifest decoded once; any other line (blank, padded, not JSON, ...), and every line of a
    manifest that is not UTF-8 or has an oversized line, goes through :func:`_json_line`,
    which reads it alone and names what is wrong with it."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise BadManifest(f"{source} is empty")
    try:
        texts = data.decode("utf-8").split("\n") if max(map(len, lines)) < MAX_LINE else None
    except UnicodeDecodeError:
        texts = None
    for number, raw in enumerate(lines, start=1):
        if texts is not None:
            text = texts[number - 1].rstrip("\r") if number > 1 else texts[0]
            try:
                value, end = _scan(text, 0)
                if end == len(text):
                    yield value
                    continue
            except (StopIteration, ValueError):
                pass
        yield _json_line(raw.rstrip(b"\r") if number > 1 else raw, source, number)


def _json_line(raw: bytes, source: str, number: int) -> Any:
    if len(raw) >= MAX_LINE:
        raise BadManifest(f"{source}: line {number} is over 1,000,000 bytes")
    if not raw.strip():
        raise BadManifest(f"{source}: line {number} is blank")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadManifest(f"{source}: line {number} is not valid UTF-8") from None
    except ValueError:
        raise BadManifest(f"{source}: line {number} is not valid JSON") from None


def _add_row(manifest: Manifest, row: Any, source: str, number: int) -> None:
    where = f"{source}: line {number}"
    if not isinstance(row, dict):
        raise BadManifest(f"{where} is not a JSON object")
    key = row.get("logical_key")
    if not row.get("physical_keys"):
        if not isinstance(key, str) or not key.endswith("/"):
            raise BadManifest(f"{where}: entry has no physical key")
        if key_problem(key[:-1]) and key != "/":
            raise BadManifest(f"{where}: unsafe directory key {key!r}")
        manifest.dir_meta[key] = row.get("meta")
        return
    problem = key_problem(key)
    if problem:
        raise BadManifest(f"{where}: {problem}: {key!r}")
    assert isinstance(key, str)
    if key in manifest.entries:
        raise BadManifest(f"{where}: duplicate logical key {key!r}")
    manifest.entries[key] = _entry(row, key, where)


def _entry(row: dict[str, Any], key: str, where: str) -> Entry:
    physical = row["physical_keys"]
    size = row.get("size")
    hash_obj = row.get("hash")
    meta = row.get("meta", {})
    if not isinstance(physical, list) or not isinstance(physical[0], str):
        raise BadManifest(f"{where}: physical_keys must be a list of URLs")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise BadManifest(f"{where}: size must be a non-negative integer")
    if not isinstance(hash_obj, dict) or not isinstance(hash_obj.get("value"), str):
        raise BadManifest(f"{where}: missing hash")
    problem = hash_problem(hash_obj.get("type"), hash_obj["value"])
    if problem:
        raise BadManifest(f"{where}: {problem}")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise BadManifest(f"{where}: meta must be an object")
    return Entry(key, physical[0], size, Hash(hash_obj["type"], hash_obj["value"]), meta)


def _check_prefixes(manifest: Manifest, source: str) -> None:
    """Reject keys that are both a file and a folder, and keys equal after NFC normalisation."""
    folders: set[str] = set()
    normal: dict[str, str] = {}
    for key in manifest.entries:
        folder = key.rpartition("/")[0]
        while folder and folder not in folders:  # a folder seen has its parents seen too
            folders.add(folder)
            folder = folder.rpartition("/")[0]
        nfc = key if key.isascii() else unicodedata.normalize("NFC", key)  # ASCII: NFC already
        if nfc in normal and normal[nfc] != key:
            raise BadManifest(f"{source}: keys {normal[nfc]!r} and {key!r} name the same file")
        normal[nfc] = key
    clash = folders.intersection(manifest.entries)
    if clash:
        raise BadManifest(f"{source}: {sorted(clash)[0]!r} is both a file and a folder")


@dataclass
class ManifestDiff:
    """What changed from manifest ``a`` to ``b``. Renames pair removed/added with equal hashes."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    meta_changed: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    header_changed: bool = False

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.modified or self.meta_changed
                    or self.renamed or self.header_changed)


def diff(a: Manifest, b: Manifest) -> ManifestDiff:
    """Compare two manifests by entry hash and meta, never by re-reading data."""
    result = ManifestDiff(header_changed=_header_view(a) != _header_view(b))
    for key, new in b.entries.items():
        old = a.entries.get(key)
        if old is None:
            result.added.append(key)
        elif not old.same_content(new):
            result.modified.append(key)
        elif old.meta != new.meta:
            result.meta_changed.append(key)
    result.removed = [k for k in a.entries if k not in b.entries]
    by_hash: dict[Hash, list[str]] = {}
    for key in result.removed:
        by_hash.setdefault(a.entries[key].hash, []).append(key)
    still_added = []
    for key in sorted(result.added, key=sort_key):
        sources = by_hash.get(b.entries[key].hash)
        if sources:
            result.renamed.append((sources.pop(0), key))
        else:
            still_added.append(key)
    renamed_from = {old for old, _ in result.renamed}
    result.added = still_added
    result.removed = sorted((k for k in result.removed if k not in renamed_from), key=sort_key)
    result.modified.sort(key=sort_key)
    result.meta_changed.sort(key=sort_key)
    return result


def _header_view(m: Manifest) -> dict[str, Any]:
    return {k: v for k, v in m.header.items() if k != "message"}
