"""selfdata.toml and where the vault lives."""

from __future__ import annotations

import pytest

from selfdata.config import Settings, default_vault_path, load_settings
from selfdata.errors import ConfigError


def test_defaults_without_a_settings_file(tmp_path):
    assert load_settings(tmp_path / "selfdata.duckdb") == Settings(30.0, "UTC")


def test_settings_file_is_read(tmp_path):
    (tmp_path / "selfdata.toml").write_text(
        '[vault]\nlock_timeout = 5\ntimezone = "Europe/Berlin"\n'
    )
    assert load_settings(tmp_path / "selfdata.duckdb") == Settings(5.0, "Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[vault\n", "cannot be read"),
        ("[vault]\nlock_timeout = 'soon'\n", "lock_timeout must be a number of seconds"),
        ("[vault]\ntimezone = 3\n", "timezone must be a non-empty string"),
    ],
)
def test_bad_settings_name_the_file_and_the_problem(tmp_path, text, message):
    (tmp_path / "selfdata.toml").write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(tmp_path / "selfdata.duckdb")
    assert str(caught.value).startswith(str(tmp_path / "selfdata.toml"))


def test_selfdata_home_moves_the_vault(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFDATA_HOME", str(tmp_path))
    assert default_vault_path() == tmp_path / "selfdata.duckdb"
