"""Python objects as entries, PhysicalKey, and quilt3's built-in exceptions: quilt3 is the
oracle for the metadata and bytes each format writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import qvc
from qvc.api.physical_key import PhysicalKey
from qvc.errors import MissingEntry, QvcError

quilt3 = pytest.importorskip("quilt3")


@pytest.mark.parametrize(("key", "obj"), [
    ("data.json", {"a": [1, 2], "b": None}), ("listing", [1, "two", 3.5]),
    ("blob.bin", b"\x00\x01\xff"), ("blob", b"raw"), ("number.json", 42),
])
def test_objects_are_written_as_quilt3_writes_them(tmp_path: Path, key: str,
                                                   obj: object) -> None:
    mine = qvc.Package().set(key, obj)
    theirs = quilt3.Package().set(key, obj)
    assert mine[key]._meta == theirs[key]._meta
    assert mine[key].get_bytes() == theirs[key].get_bytes()
    assert mine[key].deserialize() == obj == mine[key]()
    top = mine.build("test/objects", str(tmp_path / "reg"))
    assert theirs.build("test/objects", (tmp_path / "q3reg").as_uri()) == top
    # and quilt3 reads what qvc recorded
    browsed = quilt3.Package.browse("test/objects", (tmp_path / "reg").as_uri())
    assert browsed[key].deserialize() == obj


def test_serialization_location_and_json_reading(tmp_path: Path) -> None:
    where = tmp_path / "out" / "config.json"
    p = qvc.Package().set("config", {"k": 1}, serialization_location=str(where))
    assert json.loads(where.read_text()) == {"k": 1}
    assert p["config"].physical_key == where.as_uri()
    assert p["config"].get_as_json() == {"k": 1}
    with pytest.raises(ValueError):
        qvc.Package().set("a.bin", {"k": 1}, serialization_location=str(tmp_path / "x.json"))
    with pytest.raises(TypeError):
        qvc.Package().set("a.json", object())


def test_text_and_compressed_entries_deserialize_by_extension(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "notes.md").write_text("# hi\n")
    (tmp_path / "rows.json.gz").write_bytes(gzip.compress(b'{"n": 1}'))
    p = qvc.Package().set("notes.md", str(tmp_path / "notes.md"))
    p.set("rows.json.gz", str(tmp_path / "rows.json.gz"))
    assert p["notes.md"].deserialize() == "# hi\n"
    assert p["rows.json.gz"].deserialize() == {"n": 1}
    assert p["notes.md"].deserialize(func=len) == 5
    (tmp_path / "x.weird").write_text("?")
    with pytest.raises(QvcError, match="no known format"):
        qvc.Package().set("x.weird", str(tmp_path / "x.weird"))["x.weird"].deserialize()


@pytest.mark.parametrize(("key", "opts"), [
    ("table.csv", None), ("table.tsv", None), ("table.ssv", {"use_index": True}),
    ("table.parquet", None), ("table", None),
])
def test_data_frames_match_quilt3(tmp_path: Path, key: str, opts: dict[str, object] | None
                                  ) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"a": [1.0, 2.0, None], "b": ["x", "y", "z"]})
    mine = qvc.Package().set(key, frame, serialization_format_opts=opts)
    theirs = quilt3.Package().set(key, frame, serialization_format_opts=opts)
    assert mine[key]._meta == theirs[key]._meta
    if not key.endswith(("parquet", "table")):  # parquet embeds library versions
        assert mine[key].get_bytes() == theirs[key].get_bytes()
    assert mine[key].deserialize().equals(frame)
    mine.build("test/frames", str(tmp_path / "reg"))
    browsed = qvc.Package.browse("test/frames", str(tmp_path / "reg"))
    assert browsed[key].deserialize().equals(frame)


MISSING_PANDAS = """
import sys
sys.modules["pandas"] = None
sys.modules["pyarrow"] = None
import qvc
from qvc.errors import MissingExtra
p = qvc.Package().set("t.csv", sys.argv[1])
try:
    p["t.csv"].deserialize()
except MissingExtra as exc:
    print(exc.hint)
"""


def test_without_pandas_reading_a_table_names_the_extra(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    run = subprocess.run([sys.executable, "-c", MISSING_PANDAS, str(tmp_path / "t.csv")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "qvc[pandas]" in run.stdout


def test_physical_key_is_an_object_and_its_url(tmp_path: Path, s3: object,
                                               versioned_bucket: str) -> None:
    (tmp_path / "a b.txt").write_text("x")
    p = qvc.Package().set("a", str(tmp_path / "a b.txt"))
    pk = p["a"].physical_key
    assert pk.is_local() and pk.bucket is None and pk.version_id is None
    assert pk.path == str(tmp_path / "a b.txt")
    assert pk == (tmp_path / "a b.txt").as_uri() == str(pk)
    assert pk.startswith("file://") and pk.basename() == "a b.txt"

    remote = p.push("test/pk", versioned_bucket, force=True)["a"].physical_key
    assert not remote.is_local() and remote.bucket == versioned_bucket[5:]
    assert remote.path.endswith("test/pk/a") and remote.version_id
    assert remote == f"{versioned_bucket}/{remote.path}?versionId={remote.version_id}"
    assert PhysicalKey(remote.bucket, remote.path, remote.version_id) == remote
    assert PhysicalKey.from_path(tmp_path / "a b.txt") == pk
    assert qvc.PhysicalKey is PhysicalKey
    # quilt3 code compares with its own PhysicalKey through str()
    assert str(quilt3.util.PhysicalKey.from_url(str(remote))) == remote


def test_quilt3s_builtin_exceptions(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("x")
    p = qvc.Package().set_dir("d", str(tmp_path / "d"))
    for mistake, builtin in [
        (lambda: p["nope"], KeyError),
        (lambda: p.get("d"), ValueError),
        (lambda: p.set_dir("e", str(tmp_path / "d"), update_policy="newest"), ValueError),
        (lambda: p[7], TypeError),
        (lambda: p.set("x", 3j), TypeError),
    ]:
        with pytest.raises(builtin) as caught:
            mistake()
        assert isinstance(caught.value, QvcError) and caught.value.hint
    assert isinstance(MissingEntry("x"), KeyError)
