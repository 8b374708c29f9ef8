"""Render one report: check the template, run it with papermill, write one HTML file.

1. The template is loaded and checked (`manifest.load_template`): a notebook
   without a `parameters` cell, or whose parameters differ from the manifest,
   is refused before anything runs. Extra parameters are checked against the
   manifest and converted to its types.
2. The vault is opened read-only, only to check the template can run on it
   (schema version, tables) and to count the rows and importers behind each
   table for the header; the connection is closed before the kernel starts.
3. papermill injects `vault`, `period`, `start`, `end` (and the rest) and runs
   the notebook in a fresh `python3` kernel whose working directory is an
   empty temporary folder, with a per-cell timeout. The notebook opens the
   vault read-only itself.
4. A failing cell becomes one `ReportError` line naming the template, the
   cell (counted from 1 in the template's notebook) and the exception.
5. The executed notebook becomes a self-contained page (`page`); a page that
   would load anything from off the page fails the report.
6. The file is written to a temporary name beside its destination and renamed
   over it: a reader never sees half a report, a failure publishes nothing.

Example:
    >>> render("health", parse_period("last-month"), vault="data/selfdata.duckdb",
    ...        out=Path("health.html"))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from selfdata.reports.errors import ReportError, TemplateError
from selfdata.reports.manifest import (
    REQUIRED_PARAMETERS,
    Template,
    coerce_parameters,
    load_template,
    read_notebook,
    templates_dir,
)
from selfdata.reports.page import (
    DataSource,
    PageInfo,
    external_references,
    notebook_body,
    report_page,
)
from selfdata.reports.periods import Period
from selfdata.schema import SCHEMA_VERSION
from selfdata.vault import first_row, open_vault, resolve_vault_path, schema_version

__all__ = [
    "DEFAULT_CELL_TIMEOUT_S",
    "Built",
    "Rendered",
    "build_report",
    "is_curated",
    "render",
    "report_path",
]

DEFAULT_CELL_TIMEOUT_S = 600.0
KERNEL = "python3"

# How each table places a row on a local day, for the header's row counts.
_DAY_OF = {
    "health_samples": "start_at",
    "sleep_segments": "start_at",
    "workouts": "start_at",
    "location_points": "recorded_at",
    "visits": "start_at",
    "trips": "start_at",
    "transactions": "booked_date",
    "energy_readings": "start_at",
}


@dataclass(frozen=True)
class Built:
    """A report's page before it is written, and the executed notebook it came from."""

    page: str
    notebook: Any
    info: PageInfo


@dataclass(frozen=True)
class Rendered:
    """A report written to `path`."""

    template: str
    template_version: str
    period: Period
    path: Path
    seconds: float
    rendered_at: datetime


def report_path(folder: Path, template: str, period: Period) -> Path:
    """Where a report of `template` for `period` lives: `<folder>/<template>/<label>.html`.

    Example:
        >>> from selfdata.reports.periods import parse_period
        >>> report_path(Path("data/reports"), "health", parse_period("2025-06")).as_posix()
        'data/reports/health/2025-06.html'
    """
    return folder / template / f"{period.label}.html"


def render(
    template: str | Path | Template,
    period: Period,
    *,
    out: Path,
    vault: str | Path | None = None,
    parameters: Mapping[str, Any] | None = None,
    show_code: bool = False,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT_S,
    sandbox: bool | None = None,
) -> Rendered:
    """Run `template` on `vault` for `period` and write the report to `out`.

    Args:
        template: a template name, a template folder, or a loaded `Template`.
        period: the days the report covers.
        out: the HTML file to write (its folder is created).
        vault: the vault file; default the default vault.
        parameters: the template's own parameters (not vault, period, start, end).
        show_code: show the notebook's code cells.
        cell_timeout: seconds any one cell may run.
        sandbox: run the kernel in `selfdata.templates.sandbox` (no network,
            no files beyond its own folder); default: unless the template is
            one of the curated templates.

    Raises:
        TemplateError: the template cannot be used, or a parameter is wrong.
        ReportError: the notebook failed; nothing was written.
        VaultError: the vault cannot be opened.
    """
    began = time.perf_counter()
    built = build_report(
        template,
        period,
        vault=vault,
        parameters=parameters,
        show_code=show_code,
        cell_timeout=cell_timeout,
        sandbox=sandbox,
    )
    _write_atomically(out, built.page)
    return Rendered(
        template=built.info.template,
        template_version=built.info.version,
        period=period,
        path=out,
        seconds=time.perf_counter() - began,
        rendered_at=built.info.generated_at,
    )


def build_report(
    template: str | Path | Template,
    period: Period,
    *,
    vault: str | Path | None = None,
    parameters: Mapping[str, Any] | None = None,
    show_code: bool = False,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT_S,
    sandbox: bool | None = None,
) -> Built:
    """Everything `render` does but the write: the page, and the executed notebook behind it.

    `selfdata templates check` looks at both; the arguments and errors are `render`'s.
    """
    loaded = template if isinstance(template, Template) else load_template(template)
    vault_path = resolve_vault_path(vault).resolve()
    given = dict(parameters or {})
    reserved = sorted(set(given) & set(REQUIRED_PARAMETERS))
    if reserved:
        raise TemplateError(
            loaded.name, f"{', '.join(reserved)} are set by selfdata: use --period or --start/--end"
        )
    injected = {
        **{name: p.default for name, p in loaded.parameters.items()},
        **coerce_parameters(loaded, given),
        "vault": str(vault_path),
        "period": period.label,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }
    sources = data_sources(loaded, vault_path, period)
    fenced = not is_curated(loaded) if sandbox is None else sandbox
    executed = _execute(loaded, injected, cell_timeout, sandbox=fenced)
    body = notebook_body(
        executed, show_code=show_code, redact=[str(vault_path), str(vault_path.parent)]
    )
    info = PageInfo(
        template=loaded.name,
        title=loaded.title,
        version=loaded.version,
        period=period,
        generated_at=datetime.now().astimezone(),
        sources=sources,
    )
    page = report_page(body, info, show_code=show_code)
    off_page = external_references(page)
    if off_page:
        raise ReportError(
            loaded.name,
            f"the page would load {off_page[0]} from the network ({len(off_page)} such "
            "references); reports must be self-contained (use selfdata.reports.notebook.chart)",
        )
    return Built(page=page, notebook=executed, info=info)


def is_curated(template: Template) -> bool:
    """Whether `template` is one of selfdata's own (in `templates_dir()`), which run unsandboxed."""
    return template.folder.resolve().parent == templates_dir().resolve()


def data_sources(template: Template, vault: Path, period: Period) -> tuple[DataSource, ...]:
    """Check the template can read the vault, and count each table's rows in the period.

    Raises:
        TemplateError: the template needs a newer schema or a table the vault lacks.
        VaultError: the vault cannot be opened.
    """
    if template.min_schema_version > SCHEMA_VERSION:
        raise TemplateError(
            template.name,
            f"needs schema version {template.min_schema_version}; this selfdata knows "
            f"{SCHEMA_VERSION}: upgrade selfdata (pip install -U selfdata)",
        )
    with open_vault(vault, read_only=True) as con:
        if schema_version(con) < template.min_schema_version:
            raise TemplateError(
                template.name,
                f"needs schema version {template.min_schema_version}, the vault has "
                f"{schema_version(con)}",
            )
        found = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        unknown = [t for t in template.tables if t not in found]
        if unknown:
            raise TemplateError(
                template.name, f"reads tables the vault does not have: {', '.join(unknown)}"
            )
        return tuple(_source(con, table, period) for table in template.tables)


def _source(con: Any, table: str, period: Period) -> DataSource:
    column = _DAY_OF.get(table)
    if column is None:
        row = first_row(con, f'SELECT count(*) FROM "{table}"')
        return DataSource(table, int(row[0]) if row else 0, ())
    day = (
        column
        if column.endswith("_date")
        else f"CAST(t.{column} AT TIME ZONE 'UTC' + to_minutes(coalesce(t.utc_offset_min, 0)) "
        "AS DATE)"
    )
    rows = con.execute(
        f"""SELECT coalesce(i.importer, '?'), count(*) FROM "{table}" AS t
            LEFT JOIN imports AS i USING (import_id)
            WHERE {day} BETWEEN ? AND ? GROUP BY ALL ORDER BY 2 DESC, 1""",
        [period.start, period.end],
    ).fetchall()
    return DataSource(table, sum(int(n) for _, n in rows), tuple(str(name) for name, _ in rows))


def _execute(
    template: Template, parameters: dict[str, Any], cell_timeout: float, *, sandbox: bool = False
) -> Any:
    """Run the notebook in a fresh kernel in an empty folder; failures become ReportError."""
    import papermill
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    # papermill logs each failure before raising it; the error says it once, here.
    logging.getLogger("papermill").setLevel(logging.CRITICAL)
    with (
        tempfile.TemporaryDirectory(prefix="selfdata-report-") as workdir,
        _thread_loop(),
        contextlib.ExitStack() as stack,
    ):
        kernel: dict[str, Any] = {}
        if sandbox:
            from selfdata.templates.sandbox import sandboxed_kernel

            vault = Path(parameters["vault"])
            kernel = stack.enter_context(
                sandboxed_kernel(Path(workdir), template=template.folder, vault=vault)
            )
        try:
            return papermill.execute_notebook(
                str(template.notebook),
                None,
                parameters=parameters,
                kernel_name=KERNEL,
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=False,
                execution_timeout=cell_timeout,
                # The kernel's working directory; papermill's own `cwd` would
                # chdir this whole process, which parallel renders share.
                resources={"metadata": {"path": workdir}},
                # The kernel's own log (a warning about TCP on every start) would
                # land on the user's terminal; its errors reach us as cell errors.
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
                **kernel,
            )
        except PapermillExecutionError as error:
            raise ReportError(
                template.name,
                _exception_line(error.ename, error.evalue)
                + _cell_preview(template, error.cell_index),
                cell=_template_cell(template, error.cell_index),
            ) from error
        except CellTimeoutError as error:
            raise ReportError(
                template.name,
                f"a cell ran longer than the cell timeout of {cell_timeout:g} s "
                "(raise it with --cell-timeout)",
            ) from error
        except DeadKernelError as error:
            raise ReportError(template.name, "the kernel died (out of memory?)") from error
        except NoSuchKernel as error:
            raise ReportError(
                template.name, f"no Jupyter kernel {KERNEL!r}: pip install ipykernel"
            ) from error


@contextlib.contextmanager
def _thread_loop() -> Iterator[None]:
    """Close the event loop jupyter_client makes for a worker thread, once it is done.

    Each thread rendering a report gets its own asyncio loop, which nothing
    closes; its sockets would leak until the interpreter ends.
    """
    try:
        yield
    finally:
        if threading.current_thread() is not threading.main_thread():
            from jupyter_core.utils import ensure_event_loop

            ensure_event_loop().close()


def _template_cell(template: Template, executed_index: int) -> int:
    """The failing cell's number (from 1) in the template's own notebook.

    papermill inserts its `injected-parameters` cell right after the
    `parameters` cell, so cells after it are one further down.
    """
    nb = read_notebook(template.notebook)
    tagged = [
        i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    injected_at = tagged[0] + 1 if tagged else 0
    original = executed_index - 1 if executed_index > injected_at else executed_index
    return original + 1


def _cell_preview(template: Template, executed_index: int) -> str:
    nb = read_notebook(template.notebook)
    number = _template_cell(template, executed_index) - 1
    if not 0 <= number < len(nb.cells):
        return ""
    lines = [line.strip() for line in nb.cells[number].source.splitlines() if line.strip()]
    first = next((line for line in lines if not line.startswith("#")), "")
    return f" (at `{first[:80]}`)" if first else ""


def _exception_line(name: str, value: str) -> str:
    first = value.strip().splitlines()[0] if value.strip() else ""
    return f"{name}: {first}" if first else name


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
