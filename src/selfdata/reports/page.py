"""The HTML of a report and of the index: one self-contained file each.

A report page is nbconvert's `basic` template output (cells only, no page,
no scripts of its own) wrapped in a page of our own: a Content-Security-Policy
that lets nothing load or run (`default-src 'none'; img-src data:; style-src
'unsafe-inline'`), the stylesheet inlined, a header saying which template,
period, data sources, time and selfdata version made it, and `<meta
name="selfdata:...">` tags from which the index is rebuilt.

Before export, outputs are cut down to what a static page needs (HTML,
Markdown, SVG, PNG, JPEG, plain text): JavaScript, widget state and Vega
specs (which would embed the data rows) are dropped, as are stderr streams
and cells tagged `remove`. The vault's path and home folder are replaced by
"<vault>" wherever they appear. After export the page is checked: any
`src`, `href` (other than a plain `<a>` link), `url()` or `@import` pointing
off the page makes the report fail rather than call out when opened.

Example:
    >>> external_references('<img src="https://example.org/x.png"><a href="https://a.b">')
    ['<img src="https://example.org/x.png">']
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from selfdata import __version__
from selfdata.reports._style import CSS
from selfdata.reports.notebook import period_words
from selfdata.reports.periods import Period

__all__ = [
    "CSP",
    "DataSource",
    "IndexEntry",
    "PageInfo",
    "external_references",
    "index_page",
    "notebook_body",
    "read_meta",
    "report_page",
]

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
"""Nothing loads from anywhere, nothing runs: only inline styles and data: images."""

KEPT_MIMETYPES = (
    "text/html",
    "text/markdown",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "text/plain",
)

_TAG = re.compile(r"<([a-zA-Z][\w:-]*)\b[^>]*>")
_OFF_PAGE = re.compile(
    r"""(?:\b(?:src|href|xlink:href|srcset|action|formaction|poster|data|background|ping)
        \s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//)
      | (?:\b(?:src|href|xlink:href|action|data)\s*=\s*["']?\s*(?:https?|ftp|wss?|file):)""",
    re.IGNORECASE | re.VERBOSE,
)
_CSS_OFF_PAGE = re.compile(r"""url\(\s*["']?\s*(?:[a-z]+:)?//|@import""", re.IGNORECASE)
_META = re.compile(r'<meta name="selfdata:([\w-]+)" content="([^"]*)">')


@dataclass(frozen=True)
class DataSource:
    """One table a template reads: its rows in the period and the importers they came from."""

    table: str
    rows: int
    importers: tuple[str, ...]


@dataclass(frozen=True)
class PageInfo:
    """What the header of a report says."""

    template: str
    title: str
    version: str
    period: Period
    generated_at: datetime
    sources: tuple[DataSource, ...]


@dataclass(frozen=True)
class IndexEntry:
    """One report on the index page."""

    path: Path
    template: str
    title: str
    label: str
    start: date
    end: date
    generated_at: str


def notebook_body(nb: Any, *, show_code: bool, redact: Sequence[str] = ()) -> str:
    """The cells of an executed notebook as HTML, code hidden unless `show_code`.

    Args:
        nb: the executed notebook.
        show_code: show code cells' source (the injected parameters' vault path redacted).
        redact: texts (the vault's path...) replaced by "<vault>" in sources and outputs.
    """
    from nbconvert import HTMLExporter

    page = copy.deepcopy(nb)
    page.metadata.pop("widgets", None)
    page.cells = [_cleaned(cell, redact) for cell in page.cells if _shown(cell)]
    exporter = HTMLExporter(  # type: ignore[no-untyped-call] # nbconvert is untyped
        template_name="basic",
        exclude_input=not show_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        anchor_link_text="",
    )
    body, _ = exporter.from_notebook_node(page)
    return body


def report_page(body: str, info: PageInfo, *, show_code: bool = False) -> str:
    """The whole self-contained report page around `body`."""
    meta = {
        "template": info.template,
        "title": info.title,
        "template-version": info.version,
        "period": info.period.label,
        "start": info.period.start.isoformat(),
        "end": info.period.end.isoformat(),
        "generated": info.generated_at.isoformat(timespec="seconds"),
    }
    header = _header(info)
    footer = (
        '<footer class="sd-footer">Made on this computer by selfdata from the person\'s own '
        "vault. The charts and tables show totals and averages, not the records themselves; "
        "this file loads nothing from the network.</footer>"
    )
    title = f"{info.title} · {period_words(info.period)}"
    return _page(title, meta, header + f"<main>{body}</main>" + footer, code=show_code)


def index_page(entries: Iterable[IndexEntry], folder: Path) -> str:
    """The index of rendered reports, newest period first, links relative to `folder`."""
    rows = []
    ordered = sorted(entries, key=lambda e: (e.end, e.start, e.generated_at, e.title), reverse=True)
    for entry in ordered:
        link = html.escape(entry.path.relative_to(folder).as_posix(), quote=True)
        period = Period(entry.start, entry.end, entry.label)
        rows.append(
            f'<tr><td><a href="{link}">{html.escape(entry.title)}</a></td>'
            f"<td>{html.escape(period_words(period))}</td>"
            f"<td>{entry.start.isoformat()} to {entry.end.isoformat()}</td>"
            f"<td>{html.escape(entry.generated_at[:16].replace('T', ' '))}</td></tr>"
        )
    table = (
        '<table class="sd-table sd-index"><thead><tr><th>Report</th><th>Period</th>'
        f"<th>Days</th><th>Generated</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else '<p class="sd-missing">No reports yet: <code>selfdata report health</code> '
        "renders one, <code>selfdata reports run-due</code> renders the scheduled ones.</p>"
    )
    header = (
        '<header class="sd-header"><div class="sd-kicker">selfdata</div><h1>Your reports</h1>'
        f'<p class="sd-period">{len(rows)} report{"" if len(rows) == 1 else "s"}, '
        "newest first</p></header>"
    )
    return _page("Your reports", {"index": "1"}, header + f"<main>{table}</main>")


def external_references(page: str) -> list[str]:
    """Every tag or stylesheet in `page` that would load something from off the page.

    A plain `<a href="https://...">` link loads nothing until followed, so it is allowed.
    """
    found = []
    for match in _TAG.finditer(page):
        tag = match.group(0)
        if match.group(1).lower() != "a" and _OFF_PAGE.search(tag):
            found.append(tag[:200])
    for style in re.findall(r"<style\b[^>]*>(.*?)</style>", page, re.DOTALL | re.IGNORECASE):
        found += [f"<style> {m.group(0)}" for m in _CSS_OFF_PAGE.finditer(style)]
    found += [
        f'style="{s[:80]}"' for s in re.findall(r'style="([^"]*)"', page) if _CSS_OFF_PAGE.search(s)
    ]
    return found


def read_meta(path: Path) -> dict[str, str]:
    """The `selfdata:` meta tags of a report file (read from its first 8 KB)."""
    with path.open(encoding="utf-8", errors="replace") as file:
        head = file.read(8192)
    return {name: html.unescape(value) for name, value in _META.findall(head)}


# --- private helpers -------------------------------------------------------------------


def _shown(cell: Any) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return "remove" not in tags and "parameters" not in tags


def _cleaned(cell: Any, redact: Sequence[str]) -> Any:
    cell.source = _redacted(cell.source, redact)
    if cell.cell_type != "code":
        cell.pop("attachments", None)
        return cell
    kept = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            if output.name == "stdout":
                output.text = _redacted(output.text, redact)
                kept.append(output)
        elif output.output_type in ("display_data", "execute_result"):
            output.data = {
                kind: _redacted(value, redact) if isinstance(value, str) else value
                for kind, value in output.data.items()
                if kind in KEPT_MIMETYPES
            }
            if output.data:
                kept.append(output)
    cell.outputs = kept
    return cell


def _redacted(text: str, redact: Sequence[str]) -> str:
    # Longest first, so the vault file's path goes before its folder's.
    for secret in sorted((s for s in redact if s), key=len, reverse=True):
        text = text.replace(secret, "<vault>")
    return text


def _header(info: PageInfo) -> str:
    sources = "; ".join(_source_text(s) for s in info.sources) or "none"
    generated = info.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    period = info.period
    span = (
        period.start.isoformat()
        if period.days == 1
        else f"{period.start.isoformat()} to {period.end.isoformat()}, {period.days} days"
    )
    return (
        '<header class="sd-header">'
        f'<div class="sd-kicker">selfdata report · {html.escape(info.template)} '
        f"{html.escape(info.version)}</div>"
        f"<h1>{html.escape(info.title)}</h1>"
        f'<p class="sd-period">{html.escape(period_words(period))} '
        f'<span class="sd-note">({span})</span></p>'
        '<dl class="sd-meta">'
        f"<dt>Data</dt><dd>{html.escape(sources)}</dd>"
        "<dt>Times</dt><dd>local days: each record's own UTC offset where its source "
        "gave one, else UTC</dd>"
        f"<dt>Generated</dt><dd>{html.escape(generated)} by selfdata "
        f"{html.escape(__version__)}</dd>"
        "</dl></header>"
    )


def _source_text(source: DataSource) -> str:
    if not source.rows:
        return f"{source.table}: none in this period"
    via = f" from {', '.join(source.importers)}" if source.importers else ""
    return f"{source.table}: {source.rows:,} rows{via}"


def _page(title: str, meta: dict[str, str], body: str, *, code: bool = False) -> str:
    tags = "".join(
        f'<meta name="selfdata:{name}" content="{html.escape(value, quote=True)}">'
        for name, value in meta.items()
    )
    style = CSS + (_code_css() if code else "")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="selfdata {html.escape(__version__)}">\n'
        f"{tags}\n<title>{html.escape(title)}</title>\n<style>{style}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


def _code_css() -> str:
    from pygments.formatters import HtmlFormatter

    return str(HtmlFormatter(style="default").get_style_defs(".highlight"))
