"""The importer contract: what every importer module (ours or a plugin's) provides.

An importer is any object (usually a module) with these attributes:

    name: str                 short, unique, e.g. "gpx"
    version: str              bumped when the importer's output changes
    patterns: tuple[str, ...] file-name globs it usually reads, e.g. ("*.gpx",)
    tables: tuple[str, ...]   canonical tables it fills
    detect(head: bytes, filename: str) -> bool
        Cheap: sees only the first HEAD_BYTES of the file, never the whole file.
    read(source: Source) -> Iterator[Batch]
        Streams the file and yields columnar batches for canonical tables.

Optionally, for exports that are a zip of files belonging together (Apple
Health's export.xml and the workout-route GPX files it refers to):

    claim_archive(archive: zipfile.ZipFile) -> tuple[str, ...]
        The members this importer reads as ONE import, or () when it does not
        claim the archive. Sniff member heads, never whole members. The claimed
        members become one Source (`source.members`, `source.open_member()`);
        the archive's other members are still imported one by one.

    companions(path: Path) -> tuple[Path, ...]
        For a file on disk this importer reads: the files beside it that its
        import reads too, so that a folder walk does not import them alone
        (an unzipped Apple Health export's route GPX files).

Importers never write SQL and never touch the vault: they turn bytes into Arrow
tables. The ingest engine owns staging, type casting, dedupe, the transaction
and provenance. Column names in a batch are canonical column names (a subset;
missing columns are NULL, `import_id` is filled in by the engine). Values may be
strings that DuckDB casts (ISO 8601 instants for TIMESTAMPTZ, JSON text for
`extra`); a value that does not cast fails the whole import with a clear error.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol, cast, runtime_checkable

import pyarrow as pa

from selfdata.errors import ParseError

__all__ = ["HEAD_BYTES", "Batch", "Importer", "Reject", "Source", "stable_id"]

# How much of a file `detect` sees.
HEAD_BYTES = 4096


@dataclass(frozen=True)
class Batch:
    """Rows for one canonical table."""

    table: str
    rows: pa.Table


@dataclass(frozen=True)
class Reject:
    """A record the importer could not use: counted and reported, never a crash."""

    table: str
    reason: str
    line: int | None = None


@runtime_checkable
class Importer(Protocol):
    """What the registry requires of an importer. Modules satisfy it structurally."""

    name: str
    version: str
    patterns: tuple[str, ...]
    tables: tuple[str, ...]

    def detect(self, head: bytes, filename: str) -> bool: ...

    def read(self, source: Source) -> Iterator[Batch]: ...


@dataclass
class Source:
    """One file to import: on disk, a member of a zip archive read in place, or
    a group of members of one archive that an importer claimed together.

    `open()` (or `open_member()` for a group) returns a binary stream whose
    reads feed the progress bar. Importers report unusable records with
    `reject()` rather than raising.
    """

    path: Path
    member: str | None = None
    on_bytes: Callable[[int], None] | None = None
    rejects: list[Reject] = field(default_factory=list)
    members: tuple[str, ...] = ()
    # The importer's table from selfdata.toml ([importers.NAME]), e.g. a time zone.
    options: dict[str, Any] = field(default_factory=dict)
    # What the importer had to mend to read the file: reason -> count.
    repairs: dict[str, int] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        """How messages name the file: `export.zip!folder/file.gpx` for zip members."""
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    def open_member(self, name: str) -> IO[bytes]:
        """A stream of one member of a claimed group, feeding the progress bar."""
        if name not in self.members:
            raise KeyError(f"{name!r} is not one of this source's members")
        archive = zipfile.ZipFile(self.path)
        return cast(IO[bytes], _Stream(archive.open(name), self.on_bytes, archive))

    @property
    def file_name(self) -> str:
        """The file's own name, without folders."""
        return Path(self.member).name if self.member else self.path.name

    @property
    def size(self) -> int:
        """Uncompressed size in bytes (of all its members, for a claimed group)."""
        if self.member is None and not self.members:
            return self.path.stat().st_size
        with zipfile.ZipFile(self.path) as archive:
            names = self.members or (self.member,)
            return sum(archive.getinfo(name).file_size for name in names if name)

    def open(self) -> IO[bytes]:
        """A binary stream of the file's bytes (decompressed for zip members)."""
        if self.member is None:
            if self.on_bytes is None:
                return self.path.open("rb")
            return cast(IO[bytes], _Stream(self.path.open("rb"), self.on_bytes))
        archive = zipfile.ZipFile(self.path)
        return cast(IO[bytes], _Stream(archive.open(self.member), self.on_bytes, archive))

    def head(self, size: int = HEAD_BYTES) -> bytes:
        """The first `size` bytes, for detection."""
        with self._reading(), self.open() as stream:
            return stream.read(size)

    def sha256(self) -> str:
        """Hex digest of the file's bytes; the same bytes are the same import.

        For a claimed group: of the members' names and bytes, in order.
        """
        digest = hashlib.sha256()
        with self._reading():
            if not self.members:
                with self.open() as stream:
                    _digest_stream(digest, stream)
            if self.members:  # opened once: its directory is read anew on each opening
                with zipfile.ZipFile(self.path) as archive:
                    for name in self.members:
                        digest.update(name.encode("utf-8") + b"\0")
                        with archive.open(name) as stream:
                            _digest_stream(digest, stream)
        return digest.hexdigest()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        # An unreadable file or a damaged zip member is bad input, not a crash.
        try:
            yield
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise ParseError(self.display_name, f"cannot be read: {error}") from error

    def reject(self, table: str, reason: str, line: int | None = None) -> None:
        """Count one unusable record of `table`, with why and where."""
        self.rejects.append(Reject(table, reason, line))

    def repaired(self, reason: str, count: int = 1) -> None:
        """Count mended input (e.g. control characters removed); the record was kept."""
        if count:
            self.repairs[reason] = self.repairs.get(reason, 0) + count


def _digest_stream(digest: Any, stream: IO[bytes]) -> None:
    while chunk := stream.read(1 << 20):
        digest.update(chunk)


def stable_id(*parts: object) -> str:
    """A short deterministic id from the values that identify a record.

    Importers use it for ids that other rows refer to (a workout's route points
    carry its `workout_id`), so the same workout gets the same id in every import.

    Example:
        >>> stable_id("gpx", "2024-05-01T07:00:00Z", "running")
        'c0a3ac0ae5e4c6a1'
    """
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class _Stream(io.RawIOBase):
    """A file or zip member stream that reports each read's size (for a progress
    bar by bytes) and closes what it came from (the zip archive) with it."""

    def __init__(
        self,
        raw: IO[bytes],
        on_bytes: Callable[[int], None] | None,
        also_close: zipfile.ZipFile | None = None,
    ) -> None:
        self._raw = raw
        self._on_bytes = on_bytes
        self._also_close = also_close

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        data = self._raw.read(-1 if size is None else size)
        if self._on_bytes:
            self._on_bytes(len(data))
        return data

    def close(self) -> None:
        self._raw.close()
        if self._also_close:
            self._also_close.close()
        super().close()
