"""qvc.quilt.hashing: the sha2-256-chunked and SHA256 object hashes, from first principles."""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path

import pytest

from qvc.quilt import hashing
from qvc.quilt.hashing import CHUNKED, LEGACY_SHA256, MIN_CHUNK, Hash, StreamHasher

MiB = 1024 * 1024


def reference_chunked(data: bytes, chunk: int = MIN_CHUNK) -> str:
    """The definition in the format spec, written out independently of qvc."""
    parts = [hashlib.sha256(data[i : i + chunk]).digest() for i in range(0, len(data), chunk)]
    return base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode()


def pattern(size: int) -> bytes:
    """Byte i = i % 251 (the recipe of the big golden vectors)."""
    block = bytes(range(251))
    return (block * (size // 251 + 1))[:size]


@pytest.mark.parametrize(
    ("size", "chunk"),
    [
        (0, 8 * MiB),
        (1, 8 * MiB),
        (8 * MiB * 10_000, 8 * MiB),  # exactly 10,000 parts still fits
        (8 * MiB * 10_000 + 1, 16 * MiB),  # one byte more doubles the part size
        (16 * MiB * 10_000 + 1, 32 * MiB),
    ],
)
def test_chunk_size_doubles_past_ten_thousand_parts(size: int, chunk: int) -> None:
    assert hashing.chunk_size(size) == chunk


def test_empty_input_has_the_hash_of_no_parts() -> None:
    empty = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert hashing.chunked_bytes(b"") == Hash(CHUNKED, empty)
    assert hashing.combine([]) == empty


def test_single_part_is_still_a_hash_of_hashes() -> None:
    data = b"a"
    twice = base64.b64encode(hashlib.sha256(hashlib.sha256(data).digest()).digest()).decode()
    expected = "v106/7c+/S7Gw2rTES3ZM+/tY8Thy//PqI4nWcFE8tg="
    assert hashing.chunked_bytes(data).value == twice == expected


@pytest.mark.parametrize("size", [8 * MiB - 1, 8 * MiB, 8 * MiB + 1, 17 * MiB])
def test_part_boundaries_match_the_definition(size: int) -> None:
    data = pattern(size)
    assert hashing.chunked_bytes(data).value == reference_chunked(data)


@pytest.mark.parametrize("block", [1, 4095, 1 << 20, 3 * MiB + 7])
def test_stream_hasher_is_independent_of_how_bytes_arrive(block: int) -> None:
    size = 8 * MiB + 12345 if block > 1 else 100_000
    data = pattern(size)
    hasher = StreamHasher(CHUNKED, size)
    for i in range(0, size, block):
        hasher.update(data[i : i + block])
    assert hasher.result().value == reference_chunked(data)


def test_legacy_sha256_is_the_plain_hex_digest() -> None:
    data = b"hello world\n"
    expected = hashlib.sha256(data).hexdigest()
    assert hashing.sha256_bytes(data) == Hash(LEGACY_SHA256, expected)
    assert hashing.hash_bytes(data, LEGACY_SHA256).value == expected
    hasher = StreamHasher(LEGACY_SHA256, len(data))
    hasher.update(data[:3])
    hasher.update(data[3:])
    assert hasher.result().value == expected


@pytest.mark.parametrize("size", [0, 1000, 4 * MiB - 1, 4 * MiB, 9 * MiB + 3])
def test_hash_file_reads_the_whole_file(tmp_path: Path, size: int) -> None:
    data = random.Random(7).randbytes(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert hashing.hash_file(path) == Hash(CHUNKED, reference_chunked(data))
    assert hashing.hash_file(path, LEGACY_SHA256).value == hashlib.sha256(data).hexdigest()


def test_hex_names_the_raw_digest() -> None:
    h = hashing.chunked_bytes(b"")
    assert h.hex == hashlib.sha256(b"").hexdigest()
    assert Hash(LEGACY_SHA256, "ABCDEF").hex == "abcdef"


def test_unknown_hash_type_is_refused() -> None:
    with pytest.raises(ValueError):
        hashing.hash_bytes(b"x", "MD5")
    with pytest.raises(ValueError):
        StreamHasher("MD5", 1)


def test_crc64nvme_of_known_input() -> None:
    # CRC-64/NVME check value of "123456789" (from the CRC catalogue).
    assert hashing.crc64nvme(b"123456789") == 0xAE8B14860A799888
    assert hashing.hash_bytes(b"", hashing.CRC64NVME).value == base64.b64encode(bytes(8)).decode()


def test_s3_multipart_checksum_is_the_quilt_value() -> None:
    data = pattern(9 * MiB)
    parts = [hashlib.sha256(data[:8 * MiB]).digest(), hashlib.sha256(data[8 * MiB:]).digest()]
    composite = base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode()
    assert hashing.s3_checksum_to_chunked(composite + "-2", len(data)) == reference_chunked(data)
    assert hashing.s3_checksum_to_chunked(composite + "-3", len(data)) is None  # wrong part count


def test_s3_single_part_checksum_needs_one_more_sha256() -> None:
    data = b"hello world\n"
    plain = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert hashing.single_part_to_chunked(plain) == reference_chunked(data)
    empty = base64.b64encode(hashlib.sha256(b"").digest()).decode()
    assert hashing.single_part_to_chunked(empty) == empty  # a 0-byte object keeps its checksum
    assert hashing.s3_checksum_to_chunked(empty, 0) == empty
    assert hashing.s3_checksum_to_chunked("not base64!", 5) is None
