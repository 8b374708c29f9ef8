"""Render the curated templates like a person would, then look at them in a browser.

Every curated template is rendered once on the sample vault (a year in every
domain) and once on an empty vault. The pages are checked as files (the
policy, the header, nothing off the page, no raw rows, no exact values in
accessibility labels) and then opened in headless Chromium with networking
off: a screenshot of each page, and of its charts alone, must show drawn
charts, and a recording proxy must see no request at all.

How "no request" is proven: Chromium runs with `--proxy-server` pointing at a
local socket that records every connection (plain GETs and CONNECT tunnels),
`--proxy-bypass-list=<-loopback>` so nothing skips it, and a host resolver
that resolves nothing, so a request cannot go anywhere else either. A control
page that does load a remote image shows the recorder sees it; a control page
with the report's Content-Security-Policy and a script and image trying to call
out shows the policy stops them. Chromium itself, whatever the page, asks
Google's component updater and sign-in service (`--disable-component-update`
does not stop it in Debian's build): those exact endpoints, which a blank page
also calls, are set aside, and everything else the recorder sees fails the test.

Set SELFDATA_SCREENSHOTS=folder to keep the screenshots and look at them.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from selfdata.reports.errors import ReportError, TemplateError
from selfdata.reports.page import PageInfo, external_references, report_page
from selfdata.reports.periods import Period, parse_period
from selfdata.reports.render import render
from selfdata.reports.sample import write_sample_vault
from selfdata.vault import open_vault

FIXTURES = Path(__file__).parent / "data" / "reports"
CURATED = ("data-coverage", "health", "mobility", "overview", "spending")
MONTH = parse_period("2026-06")
YEAR = parse_period("2025-07-01_2026-06-30")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def period_of(name: str) -> Period:
    return YEAR if name == "overview" else MONTH


@pytest.fixture(scope="module")
def sample_vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "selfdata.duckdb"
    write_sample_vault(path)
    return path


@pytest.fixture(scope="module")
def empty_vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("empty") / "selfdata.duckdb"
    open_vault(path, read_only=False).close()
    return path


def render_all(vault: Path) -> dict[str, Path]:
    folder = vault.parent / "reports"
    open_vault(vault).close()  # migrate once, before parallel readers

    def one(name: str) -> Path:
        out = folder / name / f"{period_of(name).label}.html"
        return render(name, period_of(name), out=out, vault=vault).path

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(CURATED, pool.map(one, CURATED), strict=True))


@pytest.fixture(scope="module")
def rendered(sample_vault: Path) -> dict[str, str]:
    return {name: path.read_text("utf-8") for name, path in render_all(sample_vault).items()}


@pytest.fixture(scope="module")
def rendered_empty(empty_vault: Path) -> dict[str, str]:
    return {name: path.read_text("utf-8") for name, path in render_all(empty_vault).items()}


# --- the pages as files ------------------------------------------------------------------


@pytest.mark.parametrize("name", CURATED)
def test_pages_are_self_contained_and_private(rendered, sample_vault, name):
    page = rendered[name]
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'' in page
    assert external_references(page) == []
    assert "<script" not in page.lower()
    assert "vega" not in page.lower()  # no Vega runtime, no spec with its data
    assert str(sample_vault.parent) not in page
    assert "Traceback" not in page and "Error" not in page
    labels = re.findall(r'aria-label="([^"]*)"', page)
    assert len(labels) == len(re.findall(r'<svg[^>]* role="img"', page)) >= 1
    for label in labels:  # a chart's title, never Vega's "field: value; field: value"
        assert ";" not in label and not re.search(r":\s*-?[\d.,]+", label), label


@pytest.mark.parametrize("name", CURATED)
def test_pages_have_a_header_naming_data_period_time_and_version(rendered, name):
    page = rendered[name]
    period = period_of(name)
    assert f'<meta name="selfdata:template" content="{name}">' in page
    assert f'<meta name="selfdata:period" content="{period.label}">' in page
    assert f"{period.start.isoformat()} to {period.end.isoformat()}" in page
    assert re.search(r"<dt>Generated</dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d \S+ by selfdata ", page)
    data = re.search(r"<dt>Data</dt><dd>([^<]*)</dd>", page)
    assert data and re.search(r"\b[a-z_]+: [\d,]+ rows from [a-z_]+", data[1]), data


def test_health_tells_the_story_in_sentences(rendered):
    page = rendered["health"]
    assert "You walked <strong>9,382 steps a day</strong> on average, 1,289 more than the " in page
    assert "Your busiest day was Saturday 13 June, with 17,822 steps." in page
    assert "You slept <strong>7 h 18 min a night</strong> on average over 30 nights" in page
    assert "counted once: 281,461 in all" in page
    assert "You did <strong>12 workouts</strong>, 10 h 38 min in all: 9 runs" in page


def test_spending_names_aggregates_never_statement_lines(rendered):
    page = rendered["spending"]
    assert "You spent <strong>£4,086</strong> and £3,240 came in" in page
    assert "<strong>Spotify</strong> went up from £11.99 to £12.99 (+8%)" in page
    assert "<strong>£1,299 at Apple Store Regent St</strong> on 18 June" in page
    assert "TESCO STORES 3297" not in page and "S000001" not in page  # raw text, bank refs


def test_mobility_rounds_places_and_hides_coordinates(rendered):
    page = rendered["mobility"]
    assert "You made <strong>60 trips</strong> covering <strong>1,486 km</strong>" in page
    assert "You were in <strong>1 country</strong> and <strong>2 cities</strong>" in page
    assert "51.5045" not in page and "-0.0865" not in page and "place:" not in page


def test_overview_states_cross_domain_links_with_their_uncertainty(rendered):
    page = rendered["overview"]
    assert "<strong>Sleep after eating out.</strong> On the 232 nights after a day" in page
    assert "The 95% interval" in page
    assert "not proof of a cause" in page


def test_coverage_reports_sources_gaps_duplicates_and_offsets(rendered):
    page = rendered["data-coverage"]
    assert "In this period the vault holds <strong>3,664 records</strong>" in page
    assert "were already in the vault and were skipped" in page
    assert "UTC+01:00" in page


@pytest.mark.parametrize("name", CURATED)
def test_an_empty_vault_renders_every_section_saying_what_to_import(rendered_empty, name):
    page = rendered_empty[name]
    sections = page.count("<h2")
    assert sections >= 4
    assert page.count("Nothing to show yet:") >= sections - 1
    assert "Import " in page
    assert "<svg" not in page


# --- failures publish nothing ------------------------------------------------------------


def test_a_failing_cell_names_the_cell_and_the_error_and_writes_nothing(sample_vault, tmp_path):
    out = tmp_path / "broken.html"
    out.write_text("the last good report", encoding="utf-8")
    with pytest.raises(ReportError) as caught:
        render(FIXTURES / "broken", MONTH, out=out, vault=sample_vault)
    assert str(caught.value) == (
        "report broken failed in cell 4: ZeroDivisionError: division by zero "
        "(at `share = 1 / 0`); nothing was written"
    )
    assert caught.value.cell == 4
    assert out.read_text("utf-8") == "the last good report"
    assert [p.name for p in tmp_path.iterdir()] == ["broken.html"]  # no temporary left


def test_a_page_that_would_call_out_is_not_published(sample_vault, tmp_path):
    with pytest.raises(ReportError) as caught:
        render(FIXTURES / "phones_home", MONTH, out=tmp_path / "r.html", vault=sample_vault)
    assert "the page would load <img" in str(caught.value)
    assert "https://tracker.example/pixel.png" in str(caught.value)
    assert "(2 such references)" in str(caught.value)
    assert not (tmp_path / "r.html").exists()


def test_a_cell_running_past_the_timeout_fails_the_report(sample_vault, tmp_path):
    with pytest.raises(ReportError, match="ran longer than the cell timeout of 2 s"):
        render(
            FIXTURES / "slow", MONTH, out=tmp_path / "r.html", vault=sample_vault, cell_timeout=2
        )
    assert not (tmp_path / "r.html").exists()


def test_show_code_shows_the_notebook_with_the_vault_path_redacted(sample_vault, tmp_path):
    out = render(
        FIXTURES / "tiny",
        MONTH,
        out=tmp_path / "r.html",
        vault=sample_vault,
        show_code=True,
        parameters={"greeting": "Hi"},
    ).path
    page = out.read_text("utf-8")
    assert "setup" in page and "highlight" in page  # the code, highlighted
    assert "Hi: <strong>2026-06</strong>, 2026-06-01 to 2026-06-30." in page
    assert str(sample_vault) not in page and "&lt;vault&gt;" in page


def test_selfdata_sets_the_period_parameters_itself(sample_vault, tmp_path):
    with pytest.raises(TemplateError, match="period are set by selfdata: use --period"):
        render(
            FIXTURES / "tiny",
            MONTH,
            out=tmp_path / "r.html",
            vault=sample_vault,
            parameters={"period": "2025"},
        )


def test_a_template_needing_a_newer_schema_is_refused(sample_vault, tmp_path):
    folder = Path(shutil.copytree(FIXTURES / "tiny", tmp_path / "tiny"))
    manifest = folder / "template.toml"
    manifest.write_text(
        manifest.read_text("utf-8").replace("min_schema_version = 1", "min_schema_version = 99"),
        encoding="utf-8",
    )
    with pytest.raises(TemplateError, match="needs schema version 99; this selfdata knows"):
        render(folder, MONTH, out=tmp_path / "r.html", vault=sample_vault)


# --- in a browser --------------------------------------------------------------------------

browser = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
)


class Recorder:
    """A pretend HTTP proxy that records every connection made to it and refuses them."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with client:
                client.settimeout(2)
                try:
                    first = client.recv(4096).split(b"\r\n", 1)[0]
                    self.requests.append(first.decode("latin-1"))
                    client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    self.requests.append("(connection without a request)")

    def close(self) -> None:
        self._server.close()


# What Chromium asks for on its own, for any page, blank included.
CHROMIUM_ITSELF = re.compile(
    r"^(?:CONNECT (?:update\.googleapis\.com|accounts\.google\.com):443 "
    r"|POST http://update\.googleapis\.com/service/update2/json\?"
    r"|GET http://clients2\.google\.com/time/1/current\?)"
)


def from_the_page(requests: list[str]) -> list[str]:
    return [request for request in requests if not CHROMIUM_ITSELF.match(request)]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    found = Recorder()
    yield found
    found.close()


def screenshot(page: Path, png: Path, recorder: Recorder, size: tuple[int, int]) -> None:
    """Open `page` in headless Chromium with every request routed to `recorder`."""
    profile = png.parent / f".profile-{png.stem}"
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
        "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
        "--allow-browser-signin=false", "--disable-field-trial-config",
        f"--user-data-dir={profile}",
        f"--proxy-server=http://127.0.0.1:{recorder.port}", "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--window-size={size[0]},{size[1]}", f"--screenshot={png}", page.resolve().as_uri(),
    ]  # fmt: skip
    subprocess.run(command, capture_output=True, timeout=90, check=True)
    assert png.exists(), "Chromium wrote no screenshot"
    keep = os.environ.get("SELFDATA_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)


def pixels(png: Path) -> np.ndarray:
    """The RGB pixels of an 8-bit, non-interlaced PNG as a (height, width, 3) array."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, compressed, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed += body
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and interlace == 0 and colour in (2, 6)
    channels = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(compressed), dtype=np.uint8)
    raw = raw.reshape(height, width * channels + 1)
    image = np.zeros((height, width * channels), dtype=np.uint8)
    above = np.zeros(width * channels, dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        image[y] = _unfilter(kind, line, above, channels)
        above = image[y]
    return image.reshape(height, width, channels)[:, :, :3]


def _unfilter(kind: int, line: np.ndarray, above: np.ndarray, channels: int) -> np.ndarray:
    if kind == 0:
        return line
    if kind == 2:
        return line + above  # uint8 arithmetic wraps, as PNG's does
    if kind == 1:
        return np.cumsum(line.reshape(-1, channels), axis=0, dtype=np.uint8).reshape(-1)
    out = np.zeros_like(line)
    left = np.zeros(channels, dtype=np.int16)
    upper_left = np.zeros(channels, dtype=np.int16)
    for x in range(0, len(line), channels):
        up = above[x : x + channels].astype(np.int16)
        if kind == 3:
            value = line[x : x + channels] + ((left + up) // 2)
        else:
            p = left + up - upper_left
            pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - upper_left)
            pick = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upper_left))
            value = line[x : x + channels] + pick
        out[x : x + channels] = value.astype(np.uint8)
        left, upper_left = out[x : x + channels].astype(np.int16), up
    return out


def charts_only(page: str, slot: int) -> tuple[str, int]:
    """A page holding only `page`'s charts, each in its own slot `slot` pixels high."""
    figures = re.findall(r'<figure class="sd-chart">.*?</figure>', page, re.DOTALL)
    style = (
        f"body{{margin:0;background:white}} .slot{{height:{slot}px;overflow:hidden}}"
        f" .slot svg{{max-width:480px;max-height:{slot - 20}px;height:auto;display:block}}"
        " figure{margin:0 10px} figcaption{display:none}"
    )
    slots = "".join(f'<div class="slot">{figure}</div>' for figure in figures)
    return (
        f"<!DOCTYPE html><html><head><style>{style}</style></head><body>{slots}</body></html>",
        len(figures),
    )


@browser
@pytest.mark.parametrize("name", CURATED)
def test_reports_draw_their_charts_in_chromium_without_any_request(
    rendered, tmp_path, recorder, name
):
    page = tmp_path / f"{name}.html"
    page.write_text(rendered[name], encoding="utf-8")
    screenshot(page, tmp_path / f"report-{name}.png", recorder, (1000, 2400))
    top = pixels(tmp_path / f"report-{name}.png")[:400]
    assert (top.min(axis=2) < 100).sum() > 2000, "the heading and header did not draw"

    slot = 360
    only, count = charts_only(rendered[name], slot)
    (tmp_path / "charts.html").write_text(only, encoding="utf-8")
    shot = tmp_path / f"charts-{name}.png"
    screenshot(tmp_path / "charts.html", shot, recorder, (500, slot * count))
    image = pixels(shot)
    for number in range(count):
        area = image[number * slot : (number + 1) * slot].astype(np.int16)
        colour = (area.max(axis=2) - area.min(axis=2) > 40).sum()  # marks are coloured
        ink = (area.max(axis=2) < 140).sum()  # axes, labels and titles are dark
        assert colour > 150, f"{name} chart {number + 1} drew no marks"
        assert ink > 150, f"{name} chart {number + 1} has no axes or labels"
    assert from_the_page(recorder.requests) == []


@browser
def test_a_blank_page_makes_only_chromiums_own_requests(tmp_path, recorder):
    page = tmp_path / "blank.html"
    page.write_text("<p>nothing here</p>", encoding="utf-8")
    screenshot(page, tmp_path / "blank.png", recorder, (200, 200))
    assert from_the_page(recorder.requests) == []


@browser
def test_the_recorder_sees_a_page_that_does_call_out(tmp_path, recorder):
    page = tmp_path / "control.html"
    page.write_text('<img src="http://canary.invalid/pixel.png">', encoding="utf-8")
    screenshot(page, tmp_path / "control.png", recorder, (200, 200))
    assert from_the_page(recorder.requests) == ["GET http://canary.invalid/pixel.png HTTP/1.1"]


@browser
def test_the_content_security_policy_stops_what_a_template_might_emit(tmp_path, recorder):
    emitted = (
        "<script>new Image().src = 'http://canary.invalid/from-script.png';</script>"
        '<img src="http://canary.invalid/from-img.png">'
        '<link rel="stylesheet" href="http://canary.invalid/style.css">'
    )
    info = PageInfo("evil", "Evil", "0.1.0", MONTH, datetime(2026, 7, 1, tzinfo=UTC), ())
    guarded = tmp_path / "guarded.html"
    guarded.write_text(report_page(emitted, info), encoding="utf-8")
    screenshot(guarded, tmp_path / "guarded.png", recorder, (400, 300))
    assert from_the_page(recorder.requests) == []
    bare = tmp_path / "bare.html"
    bare.write_text(f"<html><body>{emitted}</body></html>", encoding="utf-8")
    screenshot(bare, tmp_path / "bare.png", recorder, (400, 300))
    assert sorted(from_the_page(recorder.requests)) == [
        "GET http://canary.invalid/from-img.png HTTP/1.1",
        "GET http://canary.invalid/from-script.png HTTP/1.1",
        "GET http://canary.invalid/style.css HTTP/1.1",
    ]
