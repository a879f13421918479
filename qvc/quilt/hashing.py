"""Quilt object hashes: ``sha2-256-chunked`` (the default) and legacy ``SHA256``.

Pure stdlib. ``sha2-256-chunked`` is SHA-256 over the concatenated SHA-256 digests of fixed-size
parts (8 MiB, doubled while there would be more than 10,000 parts): exactly S3's composite
``ChecksumSHA256`` of a multipart upload cut the same way, without the ``-N`` suffix.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

CHUNKED = "sha2-256-chunked"
LEGACY_SHA256 = "SHA256"
CRC64NVME = "CRC64NVME"
KNOWN_TYPES = (CHUNKED, LEGACY_SHA256, CRC64NVME)

MIN_CHUNK = 8 * 1024 * 1024
MAX_PARTS = 10_000
_READ_BLOCK = 4 * 1024 * 1024  # files smaller than this are read whole, larger in these blocks


@dataclass(frozen=True, slots=True)
class Hash:
    """An entry hash as a manifest records it: ``{"type": ..., "value": ...}``."""

    type: str
    value: str

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "value": self.value}

    @property
    def hex(self) -> str:
        """The digest as lowercase hex: the name of the object in a content store."""
        if self.type == LEGACY_SHA256:
            return self.value.lower()
        return binascii.a2b_base64(self.value).hex()  # base64.b64decode, minus its wrapping


_HEX64 = frozenset("0123456789abcdef")
# strict base64 of 32 bytes: 42 characters, one holding 4 bits and two zero bits, then '='
_CHUNKED_VALUE = re.compile(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=")
_DIGEST_BYTES = {CHUNKED: 32, CRC64NVME: 8}


def is_chunked_value(value: str) -> bool:
    """Whether ``value`` is a ``sha2-256-chunked`` value as Quilt writes one (strict base64 of
    32 bytes), told by one regular expression, without decoding it."""
    return _CHUNKED_VALUE.fullmatch(value) is not None


def hash_problem(hash_type: object, value: object) -> str | None:
    """Why ``{"type": hash_type, "value": value}`` is not a hash qvc can use, or None.

    Values come from manifests other people write and name objects on disk, so each must have
    exactly its type's shape: ``SHA256`` 64 lowercase hex digits, the others strict base64 of
    their digest's length. The message never holds the raw value (it may be anything)."""
    if hash_type == CHUNKED and isinstance(value, str) and is_chunked_value(value):
        return None  # the common case, without decoding it (the checks below agree)
    if hash_type not in KNOWN_TYPES:
        return f"unknown hash type {_shown(hash_type)}"
    if not isinstance(value, str) or not value:
        return f"empty or missing {hash_type} hash value"
    if hash_type == LEGACY_SHA256:
        if len(value) == 64 and _HEX64.issuperset(value):
            return None
        return f"SHA256 hash value {_shown(value)} is not 64 lowercase hex digits"
    expected = _DIGEST_BYTES[str(hash_type)]
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raw = b""
    if len(raw) != expected or _b64(raw) != value:
        return f"{hash_type} hash value {_shown(value)} is not base64 of {expected} bytes"
    return None


def _shown(value: object) -> str:
    """``value`` quoted and cut short, safe to print."""
    text = repr(value)
    return text if len(text) <= 40 else text[:36] + "...'"


def chunk_size(size: int) -> int:
    """Part size Quilt (and boto3's ChunksizeAdjuster) uses for an object of ``size`` bytes."""
    chunk = MIN_CHUNK
    while -(-size // chunk) > MAX_PARTS:
        chunk *= 2
    return chunk


def combine(part_digests: Iterable[bytes]) -> str:
    """The ``sha2-256-chunked`` value from the raw SHA-256 digests of the parts, in order."""
    return _b64(hashlib.sha256(b"".join(part_digests)).digest())


def chunked_bytes(data: bytes) -> Hash:
    """``sha2-256-chunked`` of an in-memory object."""
    size = len(data)
    step = chunk_size(size)
    view = memoryview(data)
    parts = (hashlib.sha256(view[i : i + step]).digest() for i in range(0, size, step))
    return Hash(CHUNKED, combine(parts))


def sha256_bytes(data: bytes) -> Hash:
    return Hash(LEGACY_SHA256, hashlib.sha256(data).hexdigest())


def hash_bytes(data: bytes, hash_type: str) -> Hash:
    """Hash ``data`` with the algorithm named by a manifest's ``hash.type``."""
    if hash_type == CHUNKED:
        return chunked_bytes(data)
    if hash_type == LEGACY_SHA256:
        return sha256_bytes(data)
    if hash_type == CRC64NVME:
        return Hash(CRC64NVME, _b64(crc64nvme(data).to_bytes(8, "big")))
    raise ValueError(f"unknown hash type {hash_type!r}")


class StreamHasher:
    """Incremental hasher for any supported type; feed bytes in order with :meth:`update`."""

    def __init__(self, hash_type: str, size: int) -> None:
        if hash_type not in KNOWN_TYPES:
            raise ValueError(f"unknown hash type {hash_type!r}")
        self.hash_type = hash_type
        self._step = chunk_size(size)
        self._parts: list[bytes] = []
        self._current = hashlib.sha256()
        self._filled = 0
        self._whole = hashlib.sha256()
        self._crc = 0

    def update(self, data: bytes | memoryview) -> None:
        if self.hash_type == LEGACY_SHA256:
            self._whole.update(data)
            return
        if self.hash_type == CRC64NVME:
            self._crc = crc64nvme(bytes(data), self._crc)
            return
        view = memoryview(data)
        while view:
            room = self._step - self._filled
            piece, view = view[:room], view[room:]
            self._current.update(piece)
            self._filled += len(piece)
            if self._filled == self._step:
                self._parts.append(self._current.digest())
                self._current, self._filled = hashlib.sha256(), 0

    def result(self) -> Hash:
        if self.hash_type == LEGACY_SHA256:
            return Hash(LEGACY_SHA256, self._whole.hexdigest())
        if self.hash_type == CRC64NVME:
            return Hash(CRC64NVME, _b64(self._crc.to_bytes(8, "big")))
        parts = list(self._parts)
        if self._filled:
            parts.append(self._current.digest())
        return Hash(CHUNKED, combine(parts))


def hash_file(path: str | os.PathLike[str], hash_type: str = CHUNKED) -> Hash:
    """Hash the file at ``path`` with the algorithm named by a manifest's ``hash.type``.

    The one way qvc reads and hashes a file (copying while hashing, as ``add`` does, is
    :mod:`qvc.core.objectio`'s). A small file is read whole with one unbuffered read (a
    quarter less CPU a file than streaming it); a larger one streams through one reused
    buffer, never held whole."""
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        if size < _READ_BLOCK:
            return hash_bytes(f.readall(), hash_type)
        hasher = StreamHasher(hash_type, size)
        buffer = bytearray(_READ_BLOCK)
        view = memoryview(buffer)
        while count := f.readinto(buffer):
            hasher.update(view[:count])
    return hasher.result()


def s3_checksum_to_chunked(checksum: str, size: int) -> str | None:
    """Convert S3's ``ChecksumSHA256`` of an object into the ``sha2-256-chunked`` value.

    Multipart objects carry ``b64(sha256(part digests))`` (real S3 appends ``-N``, some servers
    do not); single-part objects carry the plain SHA-256, which needs one more SHA-256. Returns
    None when the checksum cannot be the Quilt value (part count or format mismatch).
    """
    value, _, count = checksum.partition("-")
    expected_parts = max(1, -(-size // chunk_size(size)))
    if count:
        if not count.isdigit() or int(count) != expected_parts:
            return None
        return value
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        return None
    if len(raw) != 32:
        return None
    if size == 0 and raw == hashlib.sha256(b"").digest():
        return value
    return None  # ambiguous without the part count; callers decide with the upload they did


def single_part_to_chunked(sha256_b64: str) -> str:
    """S3's full-object SHA-256 of a single-part upload -> the Quilt chunked value."""
    raw = base64.b64decode(sha256_b64)
    if raw == hashlib.sha256(b"").digest():
        return sha256_b64
    return _b64(hashlib.sha256(raw).digest())


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


_CRC64_POLY = 0x9A6C9329AC4BC9B5  # CRC-64/NVME, reflected


def _crc64_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC64_POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC64_TABLE = _crc64_table()


def crc64nvme(data: bytes, crc: int = 0) -> int:
    """CRC-64/NVME (slow, pure Python; only used to verify legacy entries)."""
    crc ^= 0xFFFFFFFFFFFFFFFF
    table = _CRC64_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFFFFFFFFFF
