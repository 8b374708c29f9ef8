"""The vault: creation, migrations, refusing newer schemas, locks between processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

import selfdata.vault
from selfdata import open_vault
from selfdata.errors import (
    SchemaTooNewError,
    VaultError,
    VaultLockedError,
    VaultNotFoundError,
)
from selfdata.schema import CANONICAL_TABLES, SCHEMA_VERSION, Migration, migrations


def test_writer_creates_the_vault_with_every_canonical_table(vault):
    with open_vault(vault, read_only=False) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        applied = con.execute("SELECT version, name FROM schema_migrations").fetchall()
    assert set(CANONICAL_TABLES) | {"imports", "schema_migrations"} <= tables
    assert applied == [(m.version, m.name) for m in migrations()]


def test_default_vault_is_under_selfdata_home(vault):
    with open_vault(read_only=False):
        pass
    assert vault.exists()


def test_default_vault_is_data_under_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("SELFDATA_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    with open_vault(read_only=False):
        pass
    assert (tmp_path / "data" / "selfdata.duckdb").exists()


def test_read_only_open_of_a_missing_vault_says_what_to_do(vault):
    with pytest.raises(VaultNotFoundError, match="import something first"):
        open_vault(vault)


def test_read_only_connection_cannot_write_or_reach_other_files(vault, tmp_path):
    open_vault(vault, read_only=False).close()
    with open_vault(vault) as con:
        with pytest.raises(duckdb.Error):
            con.execute("DELETE FROM imports")
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"SELECT * FROM read_csv('{vault.parent}/x.csv')")
        settings = dict(
            con.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('TimeZone', 'autoinstall_known_extensions', 'enable_progress_bar')"
            ).fetchall()
        )
    assert settings == {
        "TimeZone": "UTC",
        "autoinstall_known_extensions": "false",
        "enable_progress_bar": "false",
    }


def test_timezone_comes_from_selfdata_toml(vault):
    vault.parent.mkdir(parents=True)
    (vault.parent / "selfdata.toml").write_text('[vault]\ntimezone = "Europe/Paris"\n')
    with open_vault(vault, read_only=False) as con:
        assert con.execute("SELECT current_setting('TimeZone')").fetchall() == [("Europe/Paris",)]


def test_an_older_vault_migrates_on_open(vault, monkeypatch):
    open_vault(vault, read_only=False).close()
    newer = [
        *migrations(),
        Migration(SCHEMA_VERSION + 1, "add_notes", "CREATE TABLE notes (t VARCHAR);"),
    ]
    monkeypatch.setattr(selfdata.vault, "migrations", lambda: newer)
    monkeypatch.setattr(selfdata.vault, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    # Even a read-only open brings the vault up to date first.
    with open_vault(vault) as con:
        assert con.execute("SELECT max(version) FROM schema_migrations").fetchall() == [
            (SCHEMA_VERSION + 1,)
        ]
        assert con.execute("SELECT count(*) FROM notes").fetchall() == [(0,)]


def test_a_failed_migration_changes_nothing(vault, monkeypatch):
    open_vault(vault, read_only=False).close()
    broken = [
        *migrations(),
        Migration(SCHEMA_VERSION + 1, "broken", "CREATE TABLE y (a INT); SELEKT;"),
    ]
    monkeypatch.setattr(selfdata.vault, "migrations", lambda: broken)
    with pytest.raises(VaultError, match=f"migration {SCHEMA_VERSION + 1:04d}_broken failed"):
        open_vault(vault, read_only=False)
    monkeypatch.undo()
    with open_vault(vault) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "y" not in tables


def test_a_vault_from_a_newer_selfdata_is_refused(vault):
    with open_vault(vault, read_only=False) as con:
        con.execute("INSERT INTO schema_migrations VALUES (99, 'future', now(), '9.0.0')")
    for read_only in (True, False):
        with pytest.raises(SchemaTooNewError) as caught:
            open_vault(vault, read_only=read_only)
        assert str(caught.value) == (
            f"the vault {vault} has schema version 99, written by selfdata 9.0.0; this "
            f"selfdata knows schema versions up to {SCHEMA_VERSION}. Upgrade selfdata "
            "(pip install -U selfdata) to open it"
        )


@contextmanager
def _held(vault: Path, seconds: float, *, read_only: bool = False) -> Iterator[int]:
    """Another process that opens the vault and keeps it open; yields its PID."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from selfdata import open_vault
        con = open_vault({str(vault)!r}, read_only={read_only})
        print("ready", flush=True)
        time.sleep({seconds})
        con.close()
        """
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
            yield child.pid
            child.wait(timeout=60)
        finally:
            child.kill()


def test_a_writer_waits_then_names_the_process_holding_the_lock(vault):
    open_vault(vault, read_only=False).close()
    with _held(vault, 3) as pid:
        started = time.monotonic()
        with pytest.raises(VaultLockedError) as caught:
            open_vault(vault, read_only=False, lock_timeout=0.5)
        waited = time.monotonic() - started
    assert caught.value.pid == pid
    assert 0.3 <= waited < 2.5
    assert f"(PID {pid})" in str(caught.value)
    assert "Close that program" in str(caught.value)


def test_a_writer_gets_the_lock_once_the_other_writer_is_done(vault):
    open_vault(vault, read_only=False).close()
    with _held(vault, 1.0), open_vault(vault, read_only=False, lock_timeout=20) as con:
        assert con.execute("SELECT count(*) FROM imports").fetchall() == [(0,)]


def test_readers_coexist_across_processes(vault):
    open_vault(vault, read_only=False).close()
    with _held(vault, 1.0, read_only=True), open_vault(vault, lock_timeout=0) as con:
        assert con.execute("SELECT count(*) FROM imports").fetchall() == [(0,)]


def test_a_file_that_is_not_a_vault_is_one_clear_error(vault):
    vault.parent.mkdir(parents=True)
    vault.write_text("these are my notes, not a database")
    with pytest.raises(VaultError, match="is not a valid DuckDB database file"):
        open_vault(vault)


def test_a_vault_folder_that_cannot_be_made_is_one_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(VaultError, match="cannot create the vault's folder"):
        open_vault(tmp_path / "file" / "selfdata.duckdb", read_only=False)
