"""Randomised manifests: parsing either refuses them with a clear error or gives entries whose
keys are all safe to write under a work tree. Never another exception, never a key that
could reach outside (the deterministic hostile cases are in test_hostile.py)."""

from __future__ import annotations

import json
import random

from qvc.errors import QvcError
from qvc.quilt.hashing import chunked_bytes
from qvc.quilt.manifest import Entry, Manifest, key_problem, parse

HOSTILE_PARTS = ["..", ".", "", "/", "\\", "..\\..", "\x00", "~", "C:", "a\nb", "\u202e",
                 "\udc80", "%2e%2e", "a" * 300, "é", "x/../y"]


def _valid() -> bytes:
    entries = {}
    for i, key in enumerate(["a.txt", "data/b.csv", "data/deep/c.bin", "é/ü.txt"]):
        content = b"%d" % i
        entries[key] = Entry(key, f"s3://bucket/pkg/{key}", len(content),
                             chunked_bytes(content), {"user_meta": {"i": i}} if i % 2 else {})
    return Manifest(header={"version": "v0", "message": "m"}, entries=entries).dumps()


def _hostile_key(rng: random.Random) -> str:
    parts = [rng.choice(HOSTILE_PARTS + ["ok", "data", "f.txt"]) for _ in range(rng.randint(1, 4))]
    sep = rng.choice(["/", "//", "\\", "/./"])
    return rng.choice(["", "/", "./", "../"]) + sep.join(parts)


def _mutate(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    choice = rng.randrange(5)
    if choice == 0:  # flip bytes anywhere
        raw = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw)
    if choice == 1:  # a row with a hostile logical key
        row = json.loads(lines[rng.randint(1, len(lines) - 2)])
        row["logical_key"] = _hostile_key(rng)
        lines.insert(rng.randint(1, len(lines) - 1), json.dumps(row).encode("utf-8", "replace"))
        return b"\n".join(lines)
    if choice == 2:  # a directory-metadata row with a hostile key
        row = {"logical_key": _hostile_key(rng) + "/", "meta": {}}
        lines.insert(1, json.dumps(row).encode())
        return b"\n".join(lines)
    if choice == 3:  # fields of the wrong type
        row = json.loads(lines[1])
        field = rng.choice(["size", "hash", "physical_keys", "meta", "logical_key"])
        row[field] = rng.choice([None, -1, 2**70, "x", [], {}, [1, 2], {"type": "x"}])
        lines[1] = json.dumps(row).encode()
        return b"\n".join(lines)
    return b"\n".join(rng.sample(lines, len(lines)))  # rows in another order


def test_random_manifests_are_refused_or_safe() -> None:
    rng = random.Random(20261121)
    base = _valid()
    refused = accepted = 0
    for _ in range(3000):
        data = _mutate(base, rng)
        try:
            manifest = parse(data, source="fuzzed manifest")
        except QvcError as exc:
            assert exc.message and "\n" not in exc.message
            refused += 1
            continue
        accepted += 1
        for key in manifest.entries:
            assert key_problem(key) is None, key
            assert not key.startswith("/") and ".." not in key.split("/")
        for key in manifest.dir_meta:  # metadata only (no file is written), "/" is the root
            assert key == "/" or key_problem(key[:-1]) is None, key
    assert refused > 500 and accepted > 100  # both outcomes were exercised
