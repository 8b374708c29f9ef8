"""The importer registry: built-ins and plugins, found and checked the same way.

Built-in importers are listed here by module name and registered through the
very path third-party ones take from the `selfdata.importers` entry point
group, so a plugin is a first-class citizen. A plugin's entry point names a
module (or any object) satisfying `selfdata.importers.base.Importer`:

    [project.entry-points."selfdata.importers"]
    mybank = "selfdata_mybank.importer"
"""

from __future__ import annotations

import fnmatch
import importlib
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points

from selfdata.errors import AmbiguousFormatError, SelfdataError, UnknownFormatError
from selfdata.importers.base import HEAD_BYTES, Batch, Importer, Reject, Source, stable_id
from selfdata.schema import CANONICAL_TABLES

__all__ = [
    "BUILTIN_IMPORTERS",
    "ENTRY_POINT_GROUP",
    "HEAD_BYTES",
    "Batch",
    "Importer",
    "Registered",
    "Registry",
    "Reject",
    "Source",
    "contract_problem",
    "stable_id",
]

ENTRY_POINT_GROUP = "selfdata.importers"
BUILTIN_IMPORTERS: tuple[str, ...] = (
    "selfdata.importers.apple_health",
    "selfdata.importers.bank_csv",
    "selfdata.importers.camt",
    "selfdata.importers.fit",
    "selfdata.importers.fitbit",
    "selfdata.importers.google_location",
    "selfdata.importers.gpx",
    "selfdata.importers.green_button",
    "selfdata.importers.ofx",
    "selfdata.importers.tcx",
)


@dataclass(frozen=True)
class Registered:
    """An importer and where it came from (`builtin` or the plugin's distribution)."""

    importer: Importer
    origin: str

    @property
    def name(self) -> str:
        return self.importer.name


class Registry:
    """The importers available to this process, built-ins first.

    Example:
        >>> registry = Registry.default()
        >>> [r.name for r in registry][:6]
        ['apple_health', 'bank_csv', 'camt', 'fit', 'fitbit', 'google_location']
    """

    def __init__(self) -> None:
        self._by_name: dict[str, Registered] = {}
        self.broken: dict[str, str] = {}  # entry point -> why it did not load

    @classmethod
    def default(cls) -> Registry:
        """Built-in importers, then every installed plugin."""
        registry = cls()
        for module_name in BUILTIN_IMPORTERS:
            registry.register(importlib.import_module(module_name), origin="builtin")
        registry.load_entry_points()
        return registry

    def load_entry_points(self) -> None:
        """Register plugins; one that fails to load is noted in `broken`, not fatal."""
        for point in entry_points(group=ENTRY_POINT_GROUP):
            origin = point.dist.name if point.dist else point.value
            try:
                self.register(point.load(), origin=origin)
            except Exception as error:  # a broken plugin must not break selfdata
                self.broken[point.name] = f"{type(error).__name__}: {error}"

    def register(self, importer: object, *, origin: str) -> None:
        """Add an importer after checking it keeps the contract."""
        problem = contract_problem(importer)
        if problem:
            raise SelfdataError(f"importer from {origin} is not usable: {problem}")
        assert isinstance(importer, Importer)
        if importer.name in self._by_name:
            raise SelfdataError(
                f"two importers are named {importer.name!r} "
                f"({self._by_name[importer.name].origin} and {origin})"
            )
        self._by_name[importer.name] = Registered(importer, origin)

    def __iter__(self):  # type: ignore[no-untyped-def]  # an iterator of Registered
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, name: str) -> Importer:
        """The importer called `name`, or an error listing the ones there are."""
        try:
            return self._by_name[name].importer
        except KeyError:
            raise SelfdataError(
                f"no importer named {name!r}; known: {', '.join(self._by_name)}"
            ) from None

    def candidates(self, head: bytes, filename: str) -> list[Importer]:
        """Importers whose `detect` accepts this head of a file."""
        found = []
        for registered in self:
            try:
                if registered.importer.detect(head, filename):
                    found.append(registered.importer)
            except Exception:  # a plugin's faulty detect must not hide the others
                continue
        return found

    def claims(self, archive: zipfile.ZipFile) -> list[tuple[Importer, tuple[str, ...]]]:
        """Importers that read members of this zip together, with the members each claims."""
        found = []
        for registered in self:
            claim = getattr(registered.importer, "claim_archive", None)
            if claim is None:
                continue
            try:
                names = tuple(claim(archive))
            except Exception:  # a plugin's faulty claim must not hide the others
                continue
            if names:
                found.append((registered.importer, names))
        return found

    def detect(self, source: Source) -> Importer:
        """The one importer for `source`, or a clear error naming the candidates."""
        if source.members:
            claimants = [i for i, names in self._claims_of(source) if names == source.members]
            if claimants:
                return claimants[0]
        found = self.candidates(source.head(HEAD_BYTES), source.file_name)
        if not found:
            raise UnknownFormatError(source.display_name, [r.name for r in self])
        if len(found) > 1:
            # File-name patterns break a tie between importers that sniff alike.
            by_pattern = [i for i in found if _matches(i.patterns, source.file_name)]
            if len(by_pattern) == 1:
                return by_pattern[0]
            raise AmbiguousFormatError(source.display_name, [i.name for i in found])
        return found[0]

    def _claims_of(self, source: Source) -> list[tuple[Importer, tuple[str, ...]]]:
        with zipfile.ZipFile(source.path) as archive:
            return self.claims(archive)


def contract_problem(importer: object) -> str | None:
    """What is wrong with an importer object, or None when it keeps the contract."""
    for attribute, kind in (("name", str), ("version", str), ("patterns", tuple)):
        if not isinstance(getattr(importer, attribute, None), kind):
            return f"`{attribute}` must be a {kind.__name__}"
    tables = getattr(importer, "tables", None)
    if not isinstance(tables, tuple) or not tables:
        return "`tables` must be a non-empty tuple"
    unknown = [t for t in tables if t not in CANONICAL_TABLES]
    if unknown:
        return f"`tables` names unknown tables: {', '.join(unknown)}"
    for function in ("detect", "read"):
        if not callable(getattr(importer, function, None)):
            return f"`{function}` must be callable"
    return None


def _matches(patterns: Iterable[str], filename: str) -> bool:
    return any(fnmatch.fnmatch(filename.lower(), p.lower()) for p in patterns)
