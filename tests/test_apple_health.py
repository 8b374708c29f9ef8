"""The fast Apple Health importer against the oracle, and through the whole engine.

The oracle (`tests/reference/apple_health_reference.py`) is a plain expat
parse of docs/apple_health_rows.md; the importer must yield exactly its rows
on every fixture and every corpus file.
"""

from __future__ import annotations

import json
import random
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl
import pytest

from selfdata import open_vault, xmlscan
from selfdata.errors import ParseError
from selfdata.importers import apple_health, gpx
from selfdata.importers._apple_health_elements import Route, _route_times, route_points
from selfdata.importers.base import Source
from selfdata.importers.columns import parse_iso_times
from selfdata.ingest import import_paths
from tests.conftest import CORPUS, DATA
from tests.reference.apple_health_reference import normalise, reference_rows
from tests.reference.zips import ROUTE_GPX, ROUTE_PATH, build_export_zip

FIXTURES = sorted(p for p in (DATA / "apple_health").glob("*.xml") if p.name != "truncated.xml")
CORPUS_FILES = (
    sorted((CORPUS / "apple_health").glob("*.xml")) if (CORPUS / "apple_health").is_dir() else []
)


@pytest.fixture(params=["native", "numpy"])
def implementation(request, monkeypatch):
    """Both ways xmlscan reads tags: the C tokenizer (when built) and numpy alone."""
    if request.param == "native" and xmlscan._xmltok is None:
        pytest.skip("the C tokenizer is not built on this machine")
    monkeypatch.setenv("SELFDATA_PURE_PYTHON", "1" if request.param == "numpy" else "0")
    return request.param


def fast_rows(source: Source) -> dict[str, list[dict[str, object]]]:
    rows: dict[str, list[dict[str, object]]] = defaultdict(list)
    for batch in apple_health.read(source):
        rows[batch.table].extend(batch.rows.to_pylist())
    return rows


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_rows_match_the_oracle(path, implementation):
    source = Source(path)
    reference = reference_rows(path)
    assert normalise(fast_rows(source)) == normalise(reference.rows)
    assert [(r.table, r.line) for r in source.rejects] == [
        (r.table, r.line) for r in reference.rejects
    ]


@pytest.mark.skipif(not CORPUS_FILES, reason="../shared/corpus/apple_health is not beside us")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_rows_match_the_oracle(path, implementation):
    source = Source(path)
    assert normalise(fast_rows(source)) == normalise(reference_rows(path).rows)


def test_the_export_zip_is_claimed_whole_with_its_routes(tmp_path, vault):
    archive = build_export_zip(tmp_path)
    with zipfile.ZipFile(archive) as zf:
        claimed = apple_health.claim_archive(zf)
    assert claimed[0].endswith("export.xml")
    assert all("/workout-routes/" in name for name in claimed[1:]) and len(claimed) > 1
    results = import_paths([archive], vault=vault)
    by_name = {r.name: r for r in results}
    whole = by_name[str(archive)]
    assert (whole.status, whole.importer) == ("imported", "apple_health")
    assert whole.new["location_points"] > 0
    # The clinical document and the ECG CSV are not ours: skipped, never fatal.
    assert {r.status for n, r in by_name.items() if n != str(archive)} == {"skipped"}
    assert normalise(_vault_rows(vault)) == normalise(reference_rows(archive).rows)
    again = import_paths([archive], vault=vault)
    assert {r.status for r in again if r.name == str(archive)} == {"already_imported"}


def test_a_re_export_overlapping_the_first_adds_nothing(tmp_path, vault):
    path = DATA / "apple_health" / "entities_multiline.xml"
    import_paths([path], vault=vault)
    copy = tmp_path / "export.xml"
    copy.write_bytes(path.read_bytes() + b"\n<!-- exported again -->\n")
    [again] = import_paths([copy], vault=vault)
    assert again.status == "imported"
    assert sum(again.new.values()) == 0


def test_a_truncated_export_fails_naming_the_line_and_writes_nothing(vault):
    path = DATA / "apple_health" / "truncated.xml"
    [result] = import_paths([path], vault=vault)
    assert result.status == "failed"
    assert str(result.error).startswith(f"{path}, line ")
    assert "ends inside an element" in str(result.error)
    assert not vault.exists() or _vault_rows(vault) == {}


def test_control_characters_are_repaired_not_fatal(vault):
    path = DATA / "apple_health" / "control_chars.xml"
    [result] = import_paths([path], vault=vault)
    assert result.status == "imported", result.error
    reference = reference_rows(path)
    assert reference.repairs > 0
    assert result.repairs == {"control characters removed": reference.repairs}
    assert normalise(_vault_rows(vault)) == normalise(reference.rows)


def test_chunk_boundaries_do_not_change_the_rows(tmp_path, implementation):
    record = (
        ' <Record type="HKQuantityTypeIdentifierStepCount"'
        ' sourceName="Café Run Club \u2013 Zürich {n}"'
        ' unit="count" startDate="2024-05-0{d} 07:00:00 +0200"'
        ' endDate="2024-05-0{d} 07:10:00 +0200" value="{n}">\n'
        '  <MetadataEntry key="Ünïcödé" value="naïve {n} &amp; ☕"/>\n </Record>\n'
    )
    body = "".join(record.format(n=n, d=1 + n % 9) for n in range(300))
    path = tmp_path / "export.xml"
    path.write_text(f'<?xml version="1.0"?>\n<HealthData locale="de_CH">\n{body}</HealthData>\n')
    whole = normalise(fast_rows(Source(path)))
    assert whole == normalise(reference_rows(path).rows)
    original = xmlscan.CHUNK_BYTES
    try:
        # Many cuts: inside elements with children, inside multi-byte characters.
        for size in (4093, 5000, 7919):
            xmlscan.CHUNK_BYTES = size
            assert normalise(fast_rows(Source(path))) == whole
    finally:
        xmlscan.CHUNK_BYTES = original


def test_detect_sniffs_content_not_the_name():
    head = (DATA / "apple_health" / "dtd_ios16.xml").read_bytes()[:4096]
    assert apple_health.detect(head, "exportar.xml")
    assert not apple_health.detect(b'<?xml version="1.0"?><gpx version="1.1">', "export.xml")


def _vault_rows(vault: Path) -> dict[str, list[dict[str, object]]]:
    rows: dict[str, list[dict[str, object]]] = {}
    with open_vault(vault) as con:
        for table in apple_health.tables:
            frame = con.sql(f"SELECT * EXCLUDE (import_id) FROM {table}").pl()
            records = frame.to_dicts()
            for record in records:
                if isinstance(record.get("extra"), str):
                    record["extra"] = json.loads(record["extra"])
            if records:
                rows[table] = records
    return rows


def _gpx_rows(data: bytes, tmp_path: Path) -> list[dict[str, object]]:
    path = tmp_path / "route.gpx"
    path.write_bytes(data)
    rows: list[dict[str, object]] = []
    for batch in gpx.read(Source(path)):
        if batch.table == "location_points":
            for row in batch.rows.to_pylist():
                rows.append(row | {"source": "Watch", "workout_id": "w1"})
    return rows


def test_apple_route_files_take_the_fast_path_with_the_gpx_readers_rows(tmp_path):
    table, others = route_points([Route(ROUTE_GPX, "w1", "Watch")])
    assert others == []
    assert table is not None and table.num_rows == ROUTE_GPX.count(b"<trkpt")
    fast = {"location_points": table.to_pylist()}
    assert normalise(fast) == normalise({"location_points": _gpx_rows(ROUTE_GPX, tmp_path)})


def test_a_route_file_of_another_shape_falls_back_to_the_gpx_reader():
    odd = ROUTE_GPX.replace(b"<trkseg>", b"<trkseg><trkpt lat='1' lon='2'/>", 1)
    assert route_points([Route(odd, "w1", "Watch")]) == (None, [0])


@pytest.mark.parametrize(
    "stray",
    [
        (b'lat="', b'lat="95'),  # a latitude out of range
        (b"<ele>", b"<ele>x"),  # a number that does not parse
        (b"<course>", b"<course>+"),  # a number JSON would not take as written
        (b"</ele><time>", b"</ele><time>yesterday "),  # a time that does not parse
    ],
    ids=["latitude", "number", "json", "time"],
)
def test_routes_read_together_keep_each_file_its_own_rows_and_fallback(tmp_path, stray):
    # Three workouts' files in one group: the one with a bad value goes to the gpx
    # reader alone; the others keep their own workout, source and name.
    renamed = ROUTE_GPX.replace(b"<name>", b"<name>Evening &amp; ", 1)
    bad = ROUTE_GPX.replace(*stray, 1)
    routes = [
        Route(ROUTE_GPX, "w1", "Watch"),
        Route(bad, "w2", "Phone"),
        Route(renamed, "w3", "Phone"),
    ]
    table, others = route_points(routes)
    assert others == [1]
    assert table is not None
    rows = table.to_pylist()
    n = ROUTE_GPX.count(b"<trkpt")
    assert [(r["workout_id"], r["source"]) for r in rows] == [("w1", "Watch")] * n + [
        ("w3", "Phone")
    ] * n
    names = {r["workout_id"]: json.loads(r["extra"]).get("name") for r in rows}
    expected = _gpx_rows(renamed, tmp_path)[0]["extra"]
    assert names["w3"] == json.loads(expected)["name"]
    assert names["w3"].startswith("Evening & ")
    own = normalise({"location_points": [r for r in rows if r["workout_id"] == "w1"]})
    assert own == normalise({"location_points": _gpx_rows(ROUTE_GPX, tmp_path)})


@pytest.mark.parametrize(
    "times",
    [
        ["2020-07-03T10:41:55Z", "2020-07-03T10:41:57Z"],  # Apple's form: the one-pass path
        ["2020-07-03T10:41:55Z", "2020-07-03T10:41:60Z"],  # a leap second, as the parser reads it
        ["2020-07-03T10:41:55Z", "2024-02-30T10:00:00Z"],  # a day that does not exist
        ["2020-07-03T10:41:55.250Z", "2020-07-03T12:41:57+02:00"],  # other ISO forms
        ["2020-07-03T10:41:55Z", "3 July 2020"],  # not a time
    ],
    ids=["apple", "leap-second", "no-such-day", "other-forms", "not-a-time"],
)
def test_route_times_are_those_of_the_general_iso_parser(times):
    fast = _route_times(pl.Series(times, dtype=pl.String))
    instants, offsets, bad = parse_iso_times(times)
    assert fast[0].equals(instants) and fast[1].equals(offsets)
    assert fast[2].tolist() == bad.tolist()


def test_an_unzipped_export_folder_reads_its_routes_once(tmp_path, vault):
    folder = tmp_path / "apple_health_export"
    (folder / "workout-routes").mkdir(parents=True)
    (folder / "export.xml").write_bytes((DATA / "apple_health" / "workouts.xml").read_bytes())
    (folder / ROUTE_PATH.lstrip("/")).write_bytes(ROUTE_GPX)
    (folder / "export_cda.xml").write_text("<ClinicalDocument/>")
    results = {Path(r.name).name: r for r in import_paths([tmp_path], vault=vault)}
    assert results["export.xml"].status == "imported"
    route = results[Path(ROUTE_PATH).name]
    assert (route.status, route.note) == ("skipped", "read with export.xml (apple_health)")
    with open_vault(vault) as con:
        sources = con.execute("SELECT DISTINCT workout_id IS NULL FROM location_points").fetchall()
    assert sources == [(False,)]  # every route point belongs to its workout


def test_naming_the_importer_still_reads_the_zip_as_one_export(tmp_path, vault):
    archive = build_export_zip(tmp_path)
    [result] = import_paths([archive], vault=vault, importer="apple_health")
    assert (result.status, result.importer) == ("imported", "apple_health")
    assert result.new["location_points"] > 0


def test_damaged_exports_import_or_fail_with_a_parse_error(tmp_path, implementation):
    """Seeded random damage (bytes changed, cut, inserted): never another exception."""
    seeds = [p.read_bytes() for p in FIXTURES]
    rng = random.Random(20261129)
    path = tmp_path / "export.xml"
    outcomes: Counter[str] = Counter()
    for _ in range(150):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 12)):
            at = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.4:
                data[at] = rng.choice(b"<>\"'/=!?-& \n\x00\xff\xc3")
            elif choice < 0.7:
                del data[at : at + rng.randint(1, 40)]
            else:
                data[at:at] = bytes(rng.choice(b"<>\"'/=!-") for _ in range(rng.randint(1, 4)))
        path.write_bytes(bytes(data))
        try:
            fast_rows(Source(path))
            outcomes["read"] += 1
        except ParseError:  # anything else fails the test
            outcomes["parse error"] += 1
    assert outcomes["read"] > 10 and outcomes["parse error"] > 10
