"""The ingest engine: atomicity, dedupe, legitimate repeats, provenance, zips."""

from __future__ import annotations

import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from selfdata import open_vault
from selfdata.errors import AmbiguousFormatError, UnknownFormatError
from selfdata.importers import Registry
from selfdata.ingest import forget, import_paths
from tests.conftest import write
from tests.plugins import tally

STATEMENT = """#tally v1
account,acc-1,Test Bank
tx,acc-1,2024-01-02,-3.50,Coffee
tx,acc-1,2024-01-02,-3.50,Coffee
tx,acc-1,2024-01-03,1500.00,Salary
"""


def rows(vault: Path, sql: str) -> list[tuple[object, ...]]:
    with open_vault(vault) as con:
        return con.execute(sql).fetchall()


def test_import_writes_whole_rows_with_provenance(tmp_path, vault, registry):
    path = write(tmp_path / "jan.tally", STATEMENT)
    [result] = import_paths([path], vault=vault, registry=registry)
    assert (result.status, result.import_id, result.importer) == ("imported", 1, "tally")
    assert result.new == {"accounts": 1, "transactions": 3}
    none6 = (None,) * 6  # counterparty .. extra: not in the tally format
    assert rows(vault, "SELECT * FROM transactions ORDER BY booked_date, description") == [
        (1, "acc-1", date(2024, 1, 2), None, Decimal("-3.50"), None, "Coffee", *none6),
        (1, "acc-1", date(2024, 1, 2), None, Decimal("-3.50"), None, "Coffee", *none6),
        (1, "acc-1", date(2024, 1, 3), None, Decimal("1500.00"), None, "Salary", *none6),
    ]
    [imp] = rows(
        vault,
        "SELECT importer, importer_version, file_name, file_bytes, status, "
        "rows_new, rows_duplicate, rows_rejected FROM imports",
    )
    assert imp == (
        "tally",
        "1",
        str(path),
        len(STATEMENT),
        "ok",
        '{"accounts": 1, "transactions": 3}',
        '{"accounts": 0, "transactions": 0}',
        "{}",
    )


def test_same_file_twice_adds_nothing_and_is_not_parsed(tmp_path, vault, registry):
    path = write(tmp_path / "jan.tally", STATEMENT)
    import_paths([path], vault=vault, registry=registry)
    [again] = import_paths([path], vault=vault, registry=registry)
    assert (again.status, again.import_id, again.new) == ("already_imported", 1, {})
    assert rows(vault, "SELECT count(*) FROM transactions") == [(3,)]
    assert rows(vault, "SELECT count(*) FROM imports") == [(1,)]


def test_overlapping_export_adds_only_what_is_new(tmp_path, vault, registry):
    import_paths([write(tmp_path / "jan.tally", STATEMENT)], vault=vault, registry=registry)
    later = STATEMENT + "tx,acc-1,2024-01-02,-3.50,Coffee\ntx,acc-1,2024-01-04,-20.00,Food\n"
    [result] = import_paths(
        [write(tmp_path / "jan-feb.tally", later)], vault=vault, registry=registry
    )
    # The third coffee of 2 January is new: the first export held only two.
    assert result.new == {"accounts": 0, "transactions": 2}
    assert result.duplicate == {"accounts": 1, "transactions": 3}
    assert rows(
        vault,
        "SELECT import_id, booked_date::VARCHAR, description FROM transactions"
        " WHERE import_id = 2 ORDER BY booked_date",
    ) == [(2, "2024-01-02", "Coffee"), (2, "2024-01-04", "Food")]


def test_identical_rows_in_one_file_are_legitimate_repeats(tmp_path, vault, registry):
    text = "#tally v1\n" + "tx,acc-1,2024-01-02,-3.50,Coffee\n" * 4
    [result] = import_paths([write(tmp_path / "a.tally", text)], vault=vault, registry=registry)
    assert result.new == {"transactions": 4}


def test_failure_after_rows_were_yielded_leaves_vault_unchanged(tmp_path, vault, registry):
    import_paths([write(tmp_path / "jan.tally", STATEMENT)], vault=vault, registry=registry)
    before = rows(vault, "SELECT count(*), (SELECT count(*) FROM imports) FROM transactions")
    broken = STATEMENT.replace("Salary", "Bonus") + "tx,acc-1,2024-02-01,-9.99,Film\nboom\n"
    [result] = import_paths([write(tmp_path / "b.tally", broken)], vault=vault, registry=registry)
    assert result.status == "failed"
    assert "the tally importer was told to fail" in str(result.error)
    assert (
        rows(vault, "SELECT count(*), (SELECT count(*) FROM imports) FROM transactions") == before
    )


def test_value_that_does_not_cast_fails_the_file_cleanly(tmp_path, vault, registry):
    bad = "#tally v1\ntx,acc-1,2024-01-02,-3.50,Coffee\ntx,acc-1,not-a-date,1,X\n"
    [result] = import_paths([write(tmp_path / "bad.tally", bad)], vault=vault, registry=registry)
    assert result.status == "failed"
    assert "does not fit transactions" in str(result.error)
    assert not vault.exists() or rows(vault, "SELECT count(*) FROM transactions") == [(0,)]


def test_rejects_are_counted_with_line_numbers(tmp_path, vault, registry):
    text = STATEMENT + "wat,1\n"
    [result] = import_paths([write(tmp_path / "r.tally", text)], vault=vault, registry=registry)
    assert result.rejected == {"transactions": 1}
    assert [(r.line, r.reason) for r in result.reject_samples] == [(6, "unknown line kind 'wat'")]
    assert rows(vault, "SELECT status, rows_rejected FROM imports") == [
        ("ok_with_rejects", '{"transactions": 1}')
    ]


def test_forget_removes_an_import_and_its_rows(tmp_path, vault, registry):
    import_paths([write(tmp_path / "jan.tally", STATEMENT)], vault=vault, registry=registry)
    steps = "#tally v1\nsteps,2024-01-02T08:00:00+01:00,2024-01-02T09:00:00+01:00,1200,Watch\n"
    import_paths([write(tmp_path / "s.tally", steps)], vault=vault, registry=registry)
    assert forget(1, vault=vault) == {"accounts": 1, "transactions": 3}
    assert rows(vault, "SELECT import_id FROM imports") == [(2,)]
    assert rows(vault, "SELECT count(*) FROM health_samples") == [(1,)]
    # Forgotten files can be imported again.
    [again] = import_paths([tmp_path / "jan.tally"], vault=vault, registry=registry)
    assert again.new == {"accounts": 1, "transactions": 3}


def test_timestamps_are_instants(tmp_path, vault, registry):
    steps = "#tally v1\nsteps,2024-03-31T00:30:00+01:00,2024-03-31T01:30:00+02:00,5,Watch\n"
    import_paths([write(tmp_path / "s.tally", steps)], vault=vault, registry=registry)
    assert rows(vault, "SELECT start_at::VARCHAR, end_at::VARCHAR FROM health_samples") == [
        ("2024-03-30 23:30:00+00", "2024-03-30 23:30:00+00")
    ]


def test_detection_inside_zip_without_extracting(tmp_path, vault, registry):
    archive = tmp_path / "takeout.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("Exportación/estado de cuenta.tally", STATEMENT)
        zf.writestr("Exportación/readme.txt", "not data")
        zf.writestr("__MACOSX/._estado.tally", "#tally v1\nresource fork")
    results = import_paths([archive], vault=vault, registry=registry)
    assert [(r.name, r.status) for r in results] == [
        (f"{archive}!Exportación/estado de cuenta.tally", "imported"),
        (f"{archive}!Exportación/readme.txt", "skipped"),
    ]
    # Nothing was extracted, and the staging folder is gone.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "takeout.zip"]
    assert sorted(p.name for p in vault.parent.iterdir()) == ["selfdata.duckdb"]


def test_zip_member_escaping_the_archive_is_refused(tmp_path, vault, registry):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../etc/x.tally", STATEMENT)
    [result] = import_paths([archive], vault=vault, registry=registry)
    assert result.status == "failed"
    assert "escapes the archive" in str(result.error)


def test_a_damaged_zip_member_fails_with_one_clear_line(tmp_path, vault, registry):
    archive = tmp_path / "damaged.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("statement.tally", STATEMENT)
    data = bytearray(archive.read_bytes())
    at = data.index(b"Coffee")
    data[at] = ord("K")  # the member's CRC no longer matches
    archive.write_bytes(bytes(data))
    [result] = import_paths([archive], vault=vault, registry=registry)
    assert result.status == "failed"
    assert str(result.error) == (
        f"{archive}!statement.tally: cannot be read: Bad CRC-32 for file 'statement.tally'"
    )
    assert not vault.exists()


def test_unknown_file_named_directly_is_an_error_listing_importers(tmp_path, vault, registry):
    path = write(tmp_path / "notes.txt", "hello")
    [result] = import_paths([path], vault=vault, registry=registry)
    assert isinstance(result.error, UnknownFormatError)
    known = ", ".join(r.name for r in registry)
    assert f"not a format selfdata knows (importers: {known})" in str(result.error)
    assert "tally" in known


def test_unknown_file_in_a_folder_is_skipped(tmp_path, vault, registry):
    write(tmp_path / "in" / "notes.txt", "hello")
    write(tmp_path / "in" / "a.tally", STATEMENT)
    write(tmp_path / "in" / ".hidden.tally", STATEMENT)
    results = import_paths([tmp_path / "in"], vault=vault, registry=registry)
    assert [(Path(r.name).name, r.status) for r in results] == [
        ("a.tally", "imported"),
        ("notes.txt", "skipped"),
    ]


def test_ambiguous_file_names_the_candidates(tmp_path, vault, registry):
    class Twin:
        name, version, patterns, tables = "twin", "1", ("*.twin",), ("transactions",)
        detect = staticmethod(lambda head, filename: head.startswith(b"#tally"))
        read = staticmethod(lambda source: iter(()))

    registry.register(Twin(), origin="tests")
    path = write(tmp_path / "x.dat", STATEMENT)
    [result] = import_paths([path], vault=vault, registry=registry)
    assert isinstance(result.error, AmbiguousFormatError)
    assert "several importers (tally, twin); choose one with --importer tally" in str(result.error)
    # The file-name pattern breaks the tie.
    [result] = import_paths(
        [write(tmp_path / "x.tally", STATEMENT)], vault=vault, registry=registry
    )
    assert result.status == "imported"


def test_missing_path_is_reported(tmp_path, vault, registry):
    [result] = import_paths([tmp_path / "nope.gpx"], vault=vault, registry=registry)
    assert (result.status, str(result.error)) == (
        "failed",
        f"{tmp_path}/nope.gpx: no such file or folder",
    )


def test_registry_refuses_an_importer_breaking_the_contract():
    class NoTables:
        name, version, patterns, tables = "x", "1", ("*",), ()

    with pytest.raises(Exception, match="`tables` must be a non-empty tuple"):
        Registry().register(NoTables(), origin="tests")


def test_an_importer_can_claim_members_of_a_zip_as_one_import(tmp_path, vault, registry):
    class Bundle:
        """Reads every `bundle/*.tally` member of a zip as one statement."""

        name, version, patterns, tables = "bundle", "1", (), ("transactions",)
        detect = staticmethod(lambda head, filename: False)

        @staticmethod
        def claim_archive(archive: zipfile.ZipFile) -> tuple[str, ...]:
            return tuple(n for n in archive.namelist() if n.startswith("bundle/"))

        @staticmethod
        def read(source):  # type: ignore[no-untyped-def]
            for name in source.members:
                with source.open_member(name) as stream:
                    text = stream.read().decode()
                yield from tally.read(_TextSource(text))

    registry.register(Bundle(), origin="tests")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("bundle/a.tally", "#tally v1\ntx,acc-1,2024-01-02,-2.80,Cake\n")
        zf.writestr("bundle/b.tally", "#tally v1\ntx,acc-1,2024-01-03,-4.00,Tea\n")
        zf.writestr("other.tally", STATEMENT)
    results = import_paths([archive], vault=vault, registry=registry)
    assert [(r.name, r.importer, r.new) for r in results] == [
        (str(archive), "bundle", {"transactions": 2}),
        (f"{archive}!other.tally", "tally", {"accounts": 1, "transactions": 3}),
    ]
    again = import_paths([archive], vault=vault, registry=registry)
    assert [r.status for r in again] == ["already_imported", "already_imported"]


class _TextSource:
    """Just enough of a Source for the tally reader, over text in memory."""

    def __init__(self, text: str) -> None:
        self._text = text
        self.options: dict[str, str] = {}

    def open(self):  # type: ignore[no-untyped-def]
        import io

        return io.BytesIO(self._text.encode())

    def reject(self, table: str, reason: str, line: int | None = None) -> None:
        raise AssertionError(reason)


def test_staging_left_by_a_killed_import_is_removed(tmp_path, vault, registry):
    vault.parent.mkdir(parents=True)
    abandoned = vault.parent / ".selfdata-staging-999999999-abcd"
    abandoned.mkdir()
    (abandoned / "transactions-000000.parquet").write_bytes(b"half written")
    import_paths([write(tmp_path / "jan.tally", STATEMENT)], vault=vault, registry=registry)
    assert not abandoned.exists()
    assert sorted(p.name for p in vault.parent.iterdir()) == ["selfdata.duckdb"]
