"""Python objects as package entries: the formats ``p.set(key, obj)`` writes and
``entry.deserialize()`` reads, recording the same ``format`` metadata quilt3 does.

==========  ==========================  =====================================================
format      extensions                  objects
==========  ==========================  =====================================================
json        .json                       dict, list, tuple, int, float, bool, None
bytes       .bin                        bytes
utf-8       .txt .md .rst               (read only: str; a str given to ``set`` is a path)
csv         .csv .tsv .ssv              pandas DataFrame (needs the ``pandas`` extra)
parquet     .parquet                    pandas DataFrame (needs the ``pandas`` extra); the
                                        default for a DataFrame whose key has no extension
==========  ==========================  =====================================================

An entry's metadata names its format (``meta["format"]["name"]``), and for csv its options
(``meta["format"]["opts"]``); reading uses them before the file extension. ``.gz`` and ``.bz2``
data is decompressed first.
"""

from __future__ import annotations

import bz2
import copy
import gzip
import importlib
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import ModuleType
from typing import Any

from qvc.errors import InvalidType, InvalidValue, MissingExtra, UsageError

JSON_TYPES = (dict, list, tuple, int, float, bool, type(None))
CSV_SEPARATORS = {"csv": ",", "tsv": "\t", "ssv": ";"}
CSV_OPTS = ("doublequote", "encoding", "escapechar", "fieldsep", "header_names", "index_names",
            "index_names_are_keys", "linesep", "na_values", "quotechar", "quoting",
            "skip_spaces", "use_header", "use_index")
# quilt3's defaults, recorded with every csv entry so a reader needs no defaults of its own
NA_VALUES = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
             "1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"]
CSV_DEFAULTS: dict[str, Any] = {"encoding": "utf-8", "index_names_are_keys": False,
                                "na_values": NA_VALUES, "use_header": True, "use_index": False}
DECOMPRESS: dict[str, Callable[[bytes], bytes]] = {"gz": gzip.decompress, "bz2": bz2.decompress}


def extension(name: str) -> str | None:
    """The last suffix of a key or path, lowercase, without its dot."""
    suffix = PurePosixPath(name).suffix
    return suffix[1:].lower() if suffix else None


def optional(module: str) -> ModuleType:
    """Import an optional dependency, or say which extra provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f"this data format needs {module}, which is not installed") from None


def _is_data_frame(obj: object) -> bool:
    pandas = sys.modules.get("pandas")  # a DataFrame exists only once pandas is imported
    return pandas is not None and isinstance(obj, pandas.DataFrame)


@dataclass(frozen=True)
class Format:
    name: str
    extensions: tuple[str, ...]
    handles: Callable[[object], bool]


FORMATS = (
    Format("json", ("json",), lambda o: isinstance(o, JSON_TYPES) and not isinstance(o, str)),
    Format("bytes", ("bin",), lambda o: isinstance(o, bytes)),
    Format("utf-8", ("txt", "md", "rst"), lambda o: False),
    Format("parquet", ("parquet",), _is_data_frame),
    Format("csv", tuple(CSV_SEPARATORS), _is_data_frame),
)


def serializable(obj: object) -> bool:
    return any(f.handles(obj) for f in FORMATS)


def serialize(obj: object, ext: str | None, opts: dict[str, Any] | None
              ) -> tuple[bytes, dict[str, Any]]:
    """(data, entry metadata) for ``obj`` written in the format ``ext`` names (or its type's
    default format when ``ext`` is None)."""
    found = [f for f in FORMATS if f.handles(obj) and (ext is None or ext in f.extensions)]
    if not found:
        shown = f" as a .{ext} file" if ext else ""
        raise InvalidType(f"cannot serialize a {type(obj).__name__}{shown}",
                          "pass a file path, bytes, JSON-compatible data or a pandas DataFrame")
    fmt = found[0]
    options = dict(opts or {})
    format_meta: dict[str, Any]
    if fmt.name == "json":
        data, format_meta = json.dumps(obj).encode("utf-8"), {}
    elif fmt.name == "bytes":
        assert isinstance(obj, bytes)
        data, format_meta = obj, {}
    elif fmt.name == "parquet":
        data, format_meta = _write_parquet(obj, options)
    else:
        data, format_meta = _write_csv(obj, ext, options)
    format_meta["name"] = fmt.name
    return data, {"format": format_meta, "target": fmt.name}


def deserialize(data: bytes, meta: dict[str, Any], name: str, **opts: Any) -> Any:
    """The object stored in ``data`` (the entry's bytes): its format comes from the entry's
    metadata, else from ``name``'s extension (after a compression suffix)."""
    suffixes = [s[1:].lower() for s in PurePosixPath(name).suffixes]
    ext = suffixes.pop() if suffixes else None
    if ext in DECOMPRESS:
        ext = suffixes.pop() if suffixes else None
    fmt = _format_for(meta, ext)
    if name.lower().endswith(tuple(f".{c}" for c in DECOMPRESS)):
        data = DECOMPRESS[name.rsplit(".", 1)[1].lower()](data)
    if fmt.name == "json":
        return json.loads(data.decode("utf-8"))
    if fmt.name == "bytes":
        return data
    if fmt.name == "utf-8":
        return data.decode("utf-8")
    if fmt.name == "parquet":
        pq = optional("pyarrow.parquet")
        return pq.read_table(io.BytesIO(data)).to_pandas()
    return _read_csv(data, meta, ext, opts)


def _format_for(meta: dict[str, Any], ext: str | None) -> Format:
    recorded = meta.get("format") if isinstance(meta, dict) else None
    name = recorded.get("name") if isinstance(recorded, dict) else meta.get("target")
    for fmt in FORMATS:
        if fmt.name == name or (name == "pyarrow" and fmt.name == "parquet"):
            return fmt
    for fmt in FORMATS:
        if ext in fmt.extensions:
            return fmt
    raise UsageError(f"no known format for this entry (extension {ext!r}, format {name!r})",
                     "read it with entry.get_bytes(), or pass func= to deserialize()")


def _csv_options(meta: dict[str, Any] | None, given: dict[str, Any], ext: str | None,
                 writing: bool) -> dict[str, Any]:
    recorded = given or (meta or {}).get("format", {}).get("opts", {})
    unknown = set(given) - set(CSV_OPTS)
    if unknown:
        raise InvalidValue(f"unknown csv option {sorted(unknown)[0]!r}",
                           f"csv options are {', '.join(CSV_OPTS)}")
    options = copy.deepcopy(CSV_DEFAULTS)
    if writing:
        options["linesep"] = "\n"  # the same file on every OS
    if ext in CSV_SEPARATORS and "fieldsep" not in recorded:
        options["fieldsep"] = CSV_SEPARATORS[ext]
    options.update({k: v for k, v in recorded.items() if k in CSV_OPTS})
    return options


def _write_csv(frame: Any, ext: str | None, given: dict[str, Any]
               ) -> tuple[bytes, dict[str, Any]]:
    optional("pandas")
    options = _csv_options(None, given, ext, writing=True)
    kwargs: dict[str, Any] = {
        "sep": options.get("fieldsep", ","), "index": options["use_index"],
        "header": options.get("header_names") or options["use_header"],
        "lineterminator": options["linesep"], "na_rep": (options["na_values"] or [""])[0],
    }
    if options["use_index"] and options.get("index_names"):
        kwargs["index_label"] = options["index_names"]
    for name, arg in (("quotechar", "quotechar"), ("escapechar", "escapechar"),
                      ("doublequote", "doublequote")):
        if name in options:
            kwargs[arg] = options[name]
    text = frame.to_csv(**kwargs)
    return text.encode(options["encoding"]), {"opts": options}


def _read_csv(data: bytes, meta: dict[str, Any], ext: str | None, given: dict[str, Any]) -> Any:
    pd = optional("pandas")
    options = _csv_options(meta, given, ext, writing=False)
    kwargs: dict[str, Any] = {
        "sep": options.get("fieldsep"), "encoding": options["encoding"],
        "na_values": options["na_values"], "keep_default_na": False,
        "skipinitialspace": options.get("skip_spaces", False),
        "header": 0 if options["use_header"] else None,
    }
    if kwargs["sep"] is None:
        kwargs["sep"], kwargs["engine"] = None, "python"  # sniff the separator
    if options.get("header_names"):
        kwargs["names"] = options["header_names"]
    for name in ("quotechar", "escapechar", "doublequote"):
        if name in options:
            kwargs[name] = options[name]
    index_names = options.get("index_names")
    if options["use_index"]:
        kwargs["index_col"] = (index_names if options["index_names_are_keys"] and index_names
                               else list(range(len(index_names or [0]))))
    frame = pd.read_csv(io.BytesIO(data), **kwargs)
    if index_names and options["use_index"] and not options["index_names_are_keys"]:
        frame = frame.rename_axis(index_names)
    return frame


def _write_parquet(frame: Any, given: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    pa = optional("pyarrow")
    pq = optional("pyarrow.parquet")
    unknown = set(given) - {"compression"}
    if unknown:
        raise InvalidValue(f"unknown parquet option {sorted(unknown)[0]!r}",
                           "the parquet format takes only 'compression'")
    options = {"compression": "snappy", **given}
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame), buffer, **options)
    return buffer.getvalue(), dict(options)
