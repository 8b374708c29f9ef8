"""The fast Apple Health import: what the oracle comparison alone does not show.

test_apple_health.py compares both ways of reading (the C reader and the numpy
path) with the oracle on every fixture; edge_values.xml carries the quirks the
C reader must get exactly right (references in every value, numbers beyond 15
digits, dates of the wrong shape, beats outside their list, routes with and
without a source). Here: numbers read to the last bit (the oracle comparison
rounds to 9 digits), rows as they reach the vault, a route point off the globe
rejected rather than failing the file, buffer boundaries inside workouts and
their routes, bad UTF-8, a re-export deduped against the vault, and the write
retried with one DuckDB thread when two run out of memory.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import pytest

from selfdata import ingest, open_vault, xmlscan
from selfdata.errors import ParseError
from selfdata.importers import apple_health
from selfdata.importers.base import Source
from selfdata.ingest import import_paths
from tests.conftest import DATA
from tests.reference.apple_health_reference import normalise, reference_rows

STEPS = "HKQuantityTypeIdentifierStepCount"


@pytest.fixture(params=["native", "numpy"])
def implementation(request, monkeypatch):
    """Both ways Records are read: the C reader (when built) and numpy alone."""
    if request.param == "native" and xmlscan._xmltok is None:
        pytest.skip("the C reader is not built on this machine")
    monkeypatch.setenv("SELFDATA_PURE_PYTHON", "1" if request.param == "numpy" else "0")
    return request.param


def fast_rows(path: Path) -> dict[str, list[dict[str, object]]]:
    rows: dict[str, list[dict[str, object]]] = defaultdict(list)
    for batch in apple_health.read(Source(path)):
        rows[batch.table].extend(batch.rows.to_pylist())
    return rows


def export(path: Path, body: str) -> Path:
    """An export.xml around `body`, whose first line is line 3."""
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n'
    path.write_text(f"{head}{body}</HealthData>\n", encoding="utf-8")
    return path


def steps(value: str, minute: int = 0, source: str = "Phone") -> str:
    day = f"2024-01-01 {minute // 60:02d}:{minute % 60:02d}:00 +0000"
    return (
        f' <Record type="{STEPS}" sourceName="{source}" unit="count" startDate="{day}"'
        f' endDate="{day}" value="{value}"/>\n'
    )


def vault_rows(vault: Path) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    with open_vault(vault) as con:
        for table in apple_health.tables:
            records = con.sql(f"SELECT * EXCLUDE (import_id) FROM {table}").pl().to_dicts()
            for record in records:
                record["extra"] = json.loads(record["extra"])
            if records:
                found[table] = records
    return found


def test_values_are_the_floats_python_reads(tmp_path, implementation):
    rng = random.Random(20261129)
    texts = ["0.1", "0.97", "176.4", "1e22", "1e23", "9007199254740993", "1.7976931348623157e308"]
    for _ in range(400):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 22)))
        point = rng.randint(0, len(digits))
        text = f"{rng.choice(['', '-', '+'])}{digits[:point]}.{digits[point:]}".rstrip(".")
        if rng.random() < 0.3:
            text += f"e{rng.randint(-40, 40)}"
        texts.append(text if any(c.isdigit() for c in text) else "1")
    path = export(tmp_path / "export.xml", "".join(steps(t, n) for n, t in enumerate(texts)))
    values = [row["value"] for row in fast_rows(path)["health_samples"]]
    assert values == [float(text) for text in texts]  # to the last bit, in document order


@pytest.mark.parametrize("name", ["edge_values.xml", "entities_multiline.xml", "workouts.xml"])
def test_rows_reach_the_vault_as_the_oracle_has_them(name, vault, implementation):
    path = DATA / "apple_health" / name
    [result] = import_paths([path], vault=vault)
    assert result.status == "imported", result.error
    reference = reference_rows(path)
    assert normalise(vault_rows(vault)) == normalise(reference.rows)
    assert sum(result.rejected.values()) == len(reference.rejects)


def test_a_route_point_off_the_globe_is_rejected_not_fatal(tmp_path, vault, implementation):
    # The oracle would keep it; the vault's CHECK (lat between -90 and 90) would then
    # fail the whole file, so the importer rejects the point instead.
    path = export(
        tmp_path / "export.xml",
        ' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" sourceName="Watch"'
        ' startDate="2018-05-01 08:00:00 -0700" endDate="2018-05-01 08:10:00 -0700">\n'
        '  <WorkoutRoute sourceName="Phone">\n'
        '   <Location date="2018-05-01 08:00:01 -0700" latitude="95.5" longitude="2"/>\n'
        '   <Location date="2018-05-01 08:00:02 -0700" latitude="45" longitude="-200"/>\n'
        '   <Location date="2018-05-01 08:00:03 -0700" latitude="-90" longitude="180"/>\n'
        "  </WorkoutRoute>\n"
        " </Workout>\n",
    )
    [result] = import_paths([path], vault=vault)
    assert result.status == "imported", result.error
    assert result.new == {"location_points": 1, "workouts": 1}
    assert [(r.table, r.line) for r in result.reject_samples] == [
        ("location_points", 5),
        ("location_points", 6),
    ]


def test_buffer_boundaries_inside_workouts_and_routes(tmp_path, implementation, monkeypatch):
    parts = []
    for n in range(40):
        parts.append(steps(str(n), n, source="Caf\u00e9 \u2013 Z\u00fcrich"))
        day = f"2019-06-{1 + n % 28:02d}"
        points = "".join(
            f'   <Location date="{day} 08:00:{s:02d} +0200" latitude="47.{n}{s}"'
            f' longitude="8.5{s}" course="{s}.5" speed="2.{s}"/>\n'
            for s in range(n % 4)
        )
        parts.append(
            f' <Workout workoutActivityType="HKWorkoutActivityTypeWalking" sourceName="Watch"'
            f' startDate="{day} 08:00:00 +0200" endDate="{day} 08:30:00 +0200">\n'
            f'  <MetadataEntry key="n" value="{n} &amp; \u2615"/>\n'
            f'  <WorkoutRoute sourceName="{"Phone" if n % 2 else "Phone &#8217;s"}">\n'
            f"{points}  </WorkoutRoute>\n </Workout>\n"
            f' <ActivitySummary dateComponents="{day}" appleStandHours="{n % 13}"/>\n'
        )
    path = export(tmp_path / "export.xml", "".join(parts))
    whole = normalise(fast_rows(path))
    assert whole == normalise(reference_rows(path).rows)
    for size in (1021, 4093, 7919):
        monkeypatch.setattr(xmlscan, "CHUNK_BYTES", size)
        assert normalise(fast_rows(path)) == whole


def test_bad_utf8_is_a_parse_error_naming_its_line(tmp_path, implementation):
    path = tmp_path / "export.xml"
    text = steps("1") + steps("2", 1, source="Caf\u00e9") + steps("3", 2)
    path.write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n'
        + text.encode().replace("\u00e9".encode(), b"\xe9")  # Latin-1, not UTF-8
        + b"</HealthData>\n"
    )
    with pytest.raises(ParseError) as caught:
        fast_rows(path)
    if implementation == "native":
        assert caught.value.line == 4


def test_a_re_export_adds_what_it_holds_more_often(tmp_path, vault):
    first = export(
        tmp_path / "a.xml",
        steps("5") * 2 + steps("6", 1) + steps("7", 2) + _workout("2019-06-01"),
    )
    again = export(
        tmp_path / "b.xml",
        steps("5") * 3 + steps("6", 1) + steps("8", 3) * 2 + _workout("2019-06-01") * 2,
    )
    [one] = import_paths([first], vault=vault)
    [two] = import_paths([again], vault=vault)
    assert (one.new, two.new) == (
        {"health_samples": 4, "workouts": 1},
        {"health_samples": 3, "workouts": 0},  # a third 5 and two 8s; the workout is known
    )
    with open_vault(vault) as con:
        values = Counter(v for (v,) in con.execute("SELECT value FROM health_samples").fetchall())
    assert values == {5.0: 3, 6.0: 1, 7.0: 1, 8.0: 2}


@pytest.mark.parametrize(
    ("room", "needs_mb", "tries"),
    [
        (1 << 30, 0, [(2, 256), (1, 256)]),  # two threads run out: one thread
        (0, 100, [(1, 32), (1, 128)]),  # little room, too little even for one: more room
    ],
)
def test_the_write_tries_again_when_duckdb_runs_out_of_memory(
    tmp_path, vault, monkeypatch, room, needs_mb, tries
):
    tried: list[tuple[int, int]] = []
    write_once = ingest._write_once

    def short_of_memory(*args, threads, memory):  # type: ignore[no-untyped-def]
        tried.append((threads, memory >> 20))
        if threads > 1 or memory >> 20 < needs_mb:
            raise duckdb.OutOfMemoryException("failed to allocate 16.0 MiB")
        return write_once(*args, threads=threads, memory=memory)

    # The room is what the test says, whatever this process holds or frees meanwhile.
    monkeypatch.setattr(ingest, "_resident", lambda: 200 << 20)
    monkeypatch.setattr(ingest, "_PEAK_MEMORY", (200 << 20) + room)
    monkeypatch.setattr(ingest, "_write_once", short_of_memory)
    [result] = import_paths([export(tmp_path / "export.xml", steps("5"))], vault=vault)
    assert (result.status, result.new, tried) == ("imported", {"health_samples": 1}, tries)


@pytest.mark.parametrize(
    ("room_mb", "tries"),
    [
        (400, [(2, 256), (1, 256)]),  # DuckDB's share is capped
        (200, [(2, 168), (1, 168)]),  # what is left, less what DuckDB takes beyond its limit
        (60, [(1, 32), (1, 128)]),  # too little for a second thread
        (-50, [(1, 32), (1, 128)]),  # over budget already: the least, then more on failure
    ],
)
def test_the_write_gets_what_is_left_of_the_budget(room_mb, tries):
    assert [(t, memory >> 20) for t, memory in ingest._write_tries(room_mb << 20)] == tries


def _workout(day: str) -> str:
    return (
        f' <Workout workoutActivityType="HKWorkoutActivityTypeYoga" sourceName="Watch"'
        f' startDate="{day} 08:00:00 +0200" endDate="{day} 08:30:00 +0200"/>\n'
    )


@pytest.mark.skipif(xmlscan._xmltok is None, reason="the C reader is not built")
def test_check_counts_forbidden_characters_and_finds_the_first_bad_byte():
    from selfdata import _xmltok

    pieces = [b"a", b"plain ascii, long enough for sixteen", b"\n", b"\t\r\n", b"\x00", b"\x0b"]
    pieces += [b"\x1f", "\u00e9".encode(), "\u20ac".encode(), "\U0001f600".encode(), b"\xff"]
    pieces += [b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]
    rng = random.Random(3)
    for _ in range(3000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        try:
            data.decode("utf-8")
            bad = -1
        except UnicodeDecodeError as error:
            bad = error.start
        checked = data[:bad] if bad >= 0 else data
        forbidden = sum(1 for byte in checked if byte < 32 and byte not in b"\t\n\r")
        assert _xmltok.check(data, True) == (forbidden, bad)
    # A character cut by the end of a read is only bad at the end of the file.
    assert _xmltok.check(b"ab\xe2\x82", False) == (0, -1)
    assert _xmltok.check(b"ab\xe2\x82", True) == (0, 2)
