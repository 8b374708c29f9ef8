"""The `selfdata` command: exact output, one-line errors, and help for every command."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import click
import pytest

from selfdata import open_vault, xmlscan
from selfdata.cli import cli as selfdata_cli
from selfdata.importers import _google_stream
from selfdata.templates.sandbox import sandbox_status
from tests.conftest import DATA, write

STATEMENT = """#tally v1
account,acc-1,Test Bank
tx,acc-1,2024-01-02,-3.50,Coffee
tx,acc-1,2024-01-02,-3.50,Coffee
tx,acc-1,2024-01-03,1500.00,Salary
wat
"""


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def all_commands() -> list[tuple[str, click.Command]]:
    found = []

    # Through list_commands and get_command, as click's own help does: the report
    # and template groups are loaded on first use, not held in `commands`.
    context = click.Context(selfdata_cli)

    def walk(prefix: str, group: click.Group) -> None:
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            assert command is not None, f"`selfdata {prefix} {name}` is listed but does not load"
            found.append((f"{prefix} {name}".strip(), command))
            if isinstance(command, click.Group):
                walk(f"{prefix} {name}", command)

    walk("", selfdata_cli)
    return found


@pytest.mark.parametrize(("name", "command"), all_commands(), ids=lambda x: str(x))
def test_every_command_has_help_with_an_example(cli, name, command):
    result = cli(*name.split(), "--help")
    assert result.exit_code == 0
    if not isinstance(command, click.Group):
        assert "Example:" in result.output, f"`selfdata {name} --help` shows no example"
        assert f"selfdata {name.split()[0]}" in result.output


def test_every_command_is_documented_in_the_readme():
    readme = (DATA.parents[1] / "README.md").read_text(encoding="utf-8")
    for name, command in all_commands():
        if not isinstance(command, click.Group):
            assert f"selfdata {name}" in readme, f"README.md does not mention `selfdata {name}`"


def test_import_prints_a_summary_per_file_and_table(tmp_path, cli, registry):
    path = write(tmp_path / "jan.tally", STATEMENT)
    result = cli("import", str(path))
    assert result.exit_code == 0, result.output
    first, *rest = lines(result.output)
    assert first.startswith(f"imported {path} (tally) as import 1 in ")
    assert rest == [
        "  accounts               1 new           0 duplicate        0 rejected",
        "  transactions           3 new           0 duplicate        1 rejected",
        "  rejected transactions line 6: unknown line kind 'wat'",
        "categorised 3 of 3 transactions, 0 transfer pairs; spending left uncategorised: ? 0%",
        "1 file: 1 imported, 0 unchanged, 0 failed; 4 new rows.",
    ]


def test_second_import_adds_nothing_and_says_so(tmp_path, cli, registry):
    path = write(tmp_path / "jan.tally", STATEMENT)
    cli("import", str(path))
    result = cli("import", str(path))
    assert result.exit_code == 0
    assert lines(result.output) == [
        f"unchanged {path}: already imported as import 1, nothing added",
        "1 file: 0 imported, 1 unchanged, 0 failed; 0 new rows.",
    ]


def test_a_failed_file_is_one_line_and_a_nonzero_exit(tmp_path, cli, registry):
    good = write(tmp_path / "in" / "a.tally", STATEMENT)
    bad = write(tmp_path / "in" / "b.tally", "#tally v1\ntx,acc-1,2024-01-05,-1,X\nboom\n")
    result = cli("import", str(tmp_path / "in"))
    assert result.exit_code == 1
    assert lines(result.output)[-3] == (
        f"failed {bad}: importer tally failed: RuntimeError: the tally importer was told to fail"
    )
    assert lines(result.output)[-1] == "2 files: 1 imported, 0 unchanged, 1 failed; 4 new rows."

    assert str(good) in result.output
    assert "Traceback" not in result.output


def test_option_reaches_the_importer_over_the_settings_file(tmp_path, cli, registry, vault):
    write(vault.parent / "selfdata.toml", '[importers.tally]\ncurrency = "GBP"\n')
    path = write(tmp_path / "jan.tally", STATEMENT)
    assert cli("import", "-o", "currency=EUR", str(path)).exit_code == 0
    with open_vault(vault) as con:
        assert con.execute("SELECT DISTINCT currency FROM transactions").fetchall() == [("EUR",)]


def test_an_option_without_equals_is_a_usage_error(tmp_path, cli, registry):
    result = cli("import", "-o", "currency", str(tmp_path))
    assert result.exit_code == 2
    assert "'currency' is not KEY=VALUE" in result.output


def test_import_of_statements_categorises_them_and_categorize_reruns(tmp_path, cli, registry):
    statement = "#tally v1\naccount,acc-1,Bank\ntx,acc-1,2024-01-02,-9.99,NETFLIX.COM\n"
    path = write(tmp_path / "jan.tally", statement)
    imported = cli("import", str(path))
    assert imported.exit_code == 0
    assert lines(imported.output)[-2] == (
        "categorised 1 of 1 transactions, 0 transfer pairs; spending left uncategorised: ? 0%"
    )
    again = cli("categorize", "--transfer-days", "5")
    assert again.exit_code == 0
    assert again.output.startswith("categorised 1 of 1 transactions")


def test_import_of_points_derives_visits_and_derive_reruns(tmp_path, cli, vault):
    # A morning at home, a 1.5 km walk, an hour at a cafe: one trip between two visits.
    points = []
    minute = 0
    for lat, minutes in ((48.8500, 60), (48.8635, 60)):
        for _ in range(minutes):
            points.append(f'<trkpt lat="{lat}" lon="2.3400"><time>{_at(minute)}</time></trkpt>')
            minute += 1
        if lat == 48.8500:  # walk north at about 1.25 m/s
            for step in range(1, 20):
                points.append(
                    f'<trkpt lat="{48.8500 + step * 0.0135 / 20:.5f}" lon="2.3400">'
                    f"<time>{_at(minute)}</time></trkpt>"
                )
                minute += 1
    gpx = write(
        tmp_path / "day.gpx",
        '<?xml version="1.0"?><gpx version="1.1" creator="t" '
        'xmlns="http://www.topografix.com/GPX/1/1"><trk><type>walking</type><trkseg>'
        + "".join(points)
        + "</trkseg></trk></gpx>",
    )
    imported = cli("import", str(gpx))
    assert imported.exit_code == 0, imported.output
    assert lines(imported.output)[-2].startswith("derived 2 visits, 1 trips and 2 places from ")
    again = cli("derive")
    assert again.exit_code == 0
    assert again.output.startswith("derived 2 visits, 1 trips and 2 places from ")
    with open_vault(vault) as con:
        assert con.execute("SELECT mode FROM trips WHERE derived").fetchall() == [("walking",)]


def _at(minute: int) -> str:
    return f"2024-05-04T{8 + minute // 60:02d}:{minute % 60:02d}:00Z"


def test_quiet_import_prints_only_the_summary(tmp_path, cli, registry):
    result = cli("import", "--quiet", str(write(tmp_path / "a.tally", STATEMENT)))
    assert lines(result.output) == ["1 file: 1 imported, 0 unchanged, 0 failed; 4 new rows."]


def test_unknown_importer_name_is_one_line(tmp_path, cli, registry):
    result = cli("import", "--importer", "nope", str(write(tmp_path / "a.tally", STATEMENT)))
    assert result.exit_code == 1
    known = ", ".join(r.name for r in registry)
    assert lines(result.output) == [f"Error: no importer named 'nope'; known: {known}"]


def test_imports_lists_imports(tmp_path, cli, registry):
    cli("import", str(write(tmp_path / "jan.tally", STATEMENT)))
    table = lines(cli("imports").output)
    assert table[0].split() == [
        "id",
        "importer",
        "file",
        "finished",
        "(UTC)",
        "new",
        "duplicate",
        "rejected",
    ]
    assert table[2].split()[:3] == ["1", "tally", "jan.tally"]
    assert table[2].split()[-3:] == ["4", "0", "1"]
    [record] = json.loads(cli("imports", "--json").output)
    assert record["new"] == {"accounts": 1, "transactions": 3}
    assert record["file_name"] == str(tmp_path / "jan.tally")


def test_forget_asks_then_removes(tmp_path, cli, registry, vault):
    cli("import", str(write(tmp_path / "jan.tally", STATEMENT)))
    refused = cli("forget", "1", input="n\n")
    assert refused.exit_code == 1
    assert "Remove import 1" in refused.output
    result = cli("forget", "1", input="y\n")
    assert result.exit_code == 0
    assert lines(result.output)[-1] == "Forgot import 1: removed 1 accounts, 3 transactions."
    with open_vault(vault) as con:
        assert con.execute("SELECT count(*) FROM transactions").fetchall() == [(0,)]


def test_forget_an_unknown_import(tmp_path, cli, registry):
    cli("import", str(write(tmp_path / "jan.tally", STATEMENT)))
    result = cli("forget", "7", "--yes")
    assert (result.exit_code, lines(result.output)) == (
        1,
        ["Error: no import 7; `selfdata imports` lists them"],
    )


def test_importers_lists_builtins_and_plugins(cli, registry):
    rows = [line.split() for line in lines(cli("importers").output)[2:]]
    assert ["gpx", "1", "builtin", "*.gpx", "location_points,", "workouts"] in rows
    assert [
        "tally",
        "1",
        "tests",
        "*.tally",
        "accounts,",
        "transactions,",
        "health_samples",
    ] in rows
    assert [row[0] for row in rows] == [r.name for r in registry]


def test_vault_info(tmp_path, cli, registry, vault):
    cli("import", str(write(tmp_path / "jan.tally", STATEMENT)))
    output = lines(cli("vault", "info").output)
    assert output[0] == f"vault           {vault}"
    assert output[2] == "schema version  3 (selfdata 0.1.0)"
    assert output[3] == "imports         1"
    assert ["transactions", "3"] in [line.split() for line in output]
    assert ["money", "3", "2024-01-02", "2024-01-03"] in [line.split() for line in output]


def test_vault_info_without_a_vault(cli, vault):
    result = cli("vault", "info")
    assert result.exit_code == 1
    assert lines(result.output) == [
        f"Error: no vault at {vault}: import something first (selfdata import PATH), "
        "or point to one with --vault or SELFDATA_HOME"
    ]


def test_doctor_prints_one_line_per_check(cli, registry):
    result = cli("doctor")
    assert result.exit_code == 0
    assert [line.split()[:2] for line in lines(result.output)] == [
        ["OK", "python"],
        ["OK", "duckdb"],
        ["OK", "extensions"],
        ["OK", "importers"],
        ["OK" if xmlscan.native() else "SKIP", "tokenizer"],
        ["OK" if _google_stream.native() else "SKIP", "scanner"],
        ["OK" if not sandbox_status().missing else "SKIP", "sandbox"],
        ["SKIP", "settings"],
        ["OK", "home"],
        ["SKIP", "vault"],
    ]


def test_doctor_fails_on_bad_settings(cli, vault):
    vault.parent.mkdir(parents=True)
    (vault.parent / "selfdata.toml").write_text("[vault]\nlock_timeout = -1\n")
    result = cli("doctor")
    assert result.exit_code == 1
    assert "FAIL  settings" in result.output


def test_debug_shows_the_traceback(cli, vault):
    result = cli("--debug", "vault", "info")
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "VaultNotFoundError"


def test_a_locked_vault_is_one_line_naming_the_process(tmp_path, vault):
    open_vault(vault, read_only=False).close()
    gpx = tmp_path / "a.gpx"
    gpx.write_text(
        '<?xml version="1.0"?><gpx version="1.1" creator="t" '
        'xmlns="http://www.topografix.com/GPX/1/1"><wpt lat="1" lon="2"/></gpx>'
    )
    holder = textwrap.dedent(
        f"""
        import time
        from selfdata import open_vault, xmlscan
        con = open_vault({str(vault)!r}, read_only=False)
        print("ready", flush=True)
        time.sleep(20)
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "selfdata",
                    "--vault",
                    str(vault),
                    "import",
                    "--lock-timeout",
                    "0.3",
                    str(gpx),
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
        finally:
            child.kill()
    assert result.returncode == 1
    assert result.stdout == ""
    assert lines(result.stderr) == [
        f"Error: the vault {vault} is in use by python{sys.version_info[0]}."
        f"{sys.version_info[1]} (PID {child.pid}); waited 0 s. Close that program (a notebook "
        "kernel, JupyterLab or another selfdata command) and try again, or wait longer with "
        "--lock-timeout"
    ]


def test_demo_writes_real_exports_and_imports_them_once(tmp_path, cli):
    out = tmp_path / "demo"
    first = cli("demo", "--out", str(out), "--no-reports")
    assert first.exit_code == 0, first.output
    files = sorted(p for p in out.rglob("*") if p.is_file())
    # export.zip's export_cda.xml is a member no importer reads: skipped, said so.
    assert lines(first.output)[:2] == [
        f"Wrote {len(files)} demo export files to {out}",
        f"{len(files) + 1} files: {len(files)} imported, 0 unchanged, 1 skipped, 0 failed; "
        + lines(first.output)[1].split("; ")[1],
    ]
    assert "schema version  3" in first.output
    second = cli("demo", "--out", str(out), "--no-reports")
    assert lines(second.output)[1] == (
        f"{len(files) + 1} files: 0 imported, {len(files)} unchanged, 1 skipped, 0 failed; "
        "0 new rows."
    )


def test_a_reader_that_stops_reading_ends_the_command_quietly(tmp_path):
    # `selfdata ... | head -1`: the reader is gone; no "unexpected BrokenPipeError" line.
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe now fails with EPIPE
    command = [sys.executable, "-m", "selfdata", "--vault", str(tmp_path / "v.duckdb")]
    try:
        done = subprocess.run(
            [*command, "templates", "new", "x", "--dir", str(tmp_path)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert done.stderr == b""
    assert done.returncode == 141
    assert (tmp_path / "x" / "template.toml").exists()  # the work was done before the print


def test_the_command_line_ends_with_its_status_and_all_its_output(tmp_path):
    # `main` ends the process without Python's teardown: what was printed must
    # still arrive whole, and a failure must still say so in the exit status.
    command = [sys.executable, "-m", "selfdata", "--vault", str(tmp_path / "v.duckdb")]
    track = str(DATA / "gpx" / "run_dst_change.gpx")
    imported = subprocess.run([*command, "import", track], capture_output=True, timeout=120)
    assert (imported.returncode, imported.stderr) == (0, b"")
    assert imported.stdout.decode().splitlines()[-1].startswith("1 file: 1 imported,")

    listed = subprocess.run([*command, "imports", "--json"], capture_output=True, timeout=120)
    assert listed.returncode == 0
    assert [i["file_name"] for i in json.loads(listed.stdout)] == [
        track,
        "(derived from location_points)",
    ]

    missing = subprocess.run([*command, "forget", "99", "--yes"], capture_output=True, timeout=120)
    assert missing.returncode == 1
    assert missing.stderr.decode().splitlines() == [
        "Error: no import 99; `selfdata imports` lists them"
    ]
