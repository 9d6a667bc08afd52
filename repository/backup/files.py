"""The backup directory's files: gzip'd JSON lines with a SHA-256 of the file, and the manifest."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

FORMAT = 1
MANIFEST = "manifest.json"
TABLES = "tables"
OBJECTS_LIST = "objects.jsonl.gz"
OBJECTS_DIR = "objects"
# gzip level 5: on 108 MB of dumped file rows (mostly extracted text) it wrote 18.3 MB in 9 s,
# level 9 16.0 MB in 71 s, level 1 24.6 MB in 7 s; the dump is CPU-bound, so the middle it is.
LEVEL = 5
CHUNK = 1024 * 1024


class _Hashing:
    """A binary file that hashes what is written through it."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def write_lines(path: Path, records: Iterable[Any]) -> tuple[int, str]:
    """Write one compact JSON document per line, gzip'd; return (lines, SHA-256 of the file).

    The gzip header carries no time stamp, so equal content gives an equal file."""
    count = 0
    with path.open("wb") as raw:
        hashing = _Hashing(raw)
        with gzip.GzipFile(fileobj=hashing, mode="wb", compresslevel=LEVEL, mtime=0) as out:  # type: ignore[arg-type]
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
                out.write(b"\n")
                count += 1
        raw.flush()
        os.fsync(raw.fileno())
    return count, hashing.digest.hexdigest()


def read_lines(path: Path) -> Iterator[Any]:
    with gzip.open(path, "rb") as lines:
        for line in lines:
            yield json.loads(line)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest atomically: a backup without one is incomplete."""
    temporary = directory / f".{MANIFEST}.tmp"
    with temporary.open("w", encoding="utf-8") as out:
        json.dump(manifest, out, ensure_ascii=False, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, directory / MANIFEST)


def read_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        return json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
