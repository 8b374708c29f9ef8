"""Writes the FIT fixtures in tests/data/fit/, each carrying quirks of real devices.

Run `python -m tests.fit_fixtures` after changing a fixture here; a test checks
that the committed files are exactly what this script writes.

- run_offset_dev_field.fit: a trail run with a local_timestamp two hours ahead of
  UTC, a Stryd-style developer field, a record without position, a heart rate of
  0 (strap lost contact), RR intervals (hrv), a manufacturer-specific message.
- brick_two_sessions.fit: a run then an indoor ride in one file (two sessions),
  a point in the transition between them, and no local time (offset unknown).
- pool_swim_hr_messages.fit: a swim with no positions whose heart rate comes in
  `hr` messages in a chained FIT file without its own file_id, packed as 12-bit
  event timestamps, with padding after the last beat.
- monitoring_two_activity_types.fit: daily-activity counters for walking and
  running, cumulative, with timestamp_16 times that wrap, an end-of-day summary
  stamped at local midnight, and counters that restart the next day.
- weight_scale_two_users.fit: a scale shared by two users, and one reading still
  "calculating" (0xFFFE).
- truncated.fit, bad_crc.fit: the run file cut short, and with its CRC damaged.
"""

from __future__ import annotations

from pathlib import Path

from tests.fit_writer import FitWriter, chain, fit_time, semicircles

FOLDER = Path(__file__).parent / "data" / "fit"

# Global message numbers from the FIT profile.
FILE_ID, USER_PROFILE, SESSION, LAP, RECORD, DEVICE_INFO = 0, 3, 18, 19, 20, 23
WEIGHT_SCALE, ACTIVITY, MONITORING, HRV, MONITORING_INFO, HR = 30, 34, 55, 78, 103, 132
FIELD_DESCRIPTION, DEVELOPER_DATA_ID, MANUFACTURER_SPECIFIC = 206, 207, 65280
GARMIN, FENIX5, FR735XT, VIVOFIT, INDEX_SCALE = 1, 2697, 2158, 1837, 2429
WALKING, RUNNING, SEDENTARY = 6, 1, 8


def run_offset_dev_field(header_size: int = 14) -> bytes:
    t0 = fit_time("2024-05-01T07:00:00+00:00")
    fit = FitWriter(header_size=header_size)
    file_id(fit, 4, GARMIN, FENIX5, 3_945_849_289, t0)
    fit.message(DEVELOPER_DATA_ID, [(1, "byte", bytes(range(16))), (3, "uint8", 0)])
    fit.message(
        FIELD_DESCRIPTION,
        [
            (0, "uint8", 0),
            (1, "uint8", 0),
            (2, "uint8", 0x84),
            (3, "string", "Form Power"),
            (8, "string", "Watts"),
        ],
    )
    position = [(0, "sint32", semicircles(52.52)), (1, "sint32", semicircles(13.405))]
    fit.message(
        RECORD,
        [
            (253, "uint32", t0),
            *position,
            (78, "uint32", (34 + 500) * 5),
            (73, "uint32", 2500),
            (3, "uint8", 120),
            (4, "uint8", 80),
            (5, "uint32", 0),
        ],
        [(0, 0, "uint16", 250)],
        local=1,
    )
    fit.message(HRV, [(0, "uint16", [500, 520, 0xFFFF])], local=2)
    # Indoors for a moment: heart rate and cadence, no position.
    fit.message(
        RECORD,
        [(253, "uint32", t0 + 10), (3, "uint8", 125), (4, "uint8", 82), (5, "uint32", 3000)],
        [(0, 0, "uint16", 260)],
        local=1,
    )
    fit.message(MANUFACTURER_SPECIFIC, [(0, "uint16", 7)], local=3)
    # The strap lost contact: heart rate 0. Plain altitude and speed, no enhanced ones.
    fit.message(
        RECORD,
        [
            (253, "uint32", t0 + 20),
            (0, "sint32", semicircles(52.5205)),
            position[1],
            (2, "uint16", (35 + 500) * 5),
            (6, "uint16", 3000),
            (3, "uint8", 0),
            (7, "uint16", 300),
            (13, "sint8", 18),
        ],
        local=1,
    )
    for index, (start, seconds, metres, kcal) in enumerate([(0, 10, 30, 2), (10, 15, 30, 3)]):
        fit.message(
            LAP,
            [
                (253, "uint32", t0 + start + seconds),
                (2, "uint32", t0 + start),
                (7, "uint32", seconds * 1000),
                (8, "uint32", seconds * 1000),
                (9, "uint32", metres * 100),
                (11, "uint16", kcal),
                (25, "enum", RUNNING),
                (15, "uint8", 120 + index),
                (16, "uint8", 125),
            ],
            local=4,
        )
    session(fit, t0, RUNNING, 3, elapsed_s=25, timer_s=20, metres=60, kcal=5, hr=(122, 125))
    fit.message(
        ACTIVITY,
        [
            (253, "uint32", t0 + 25),
            (0, "uint32", 20_000),
            (1, "uint16", 1),
            (2, "enum", 0),
            (3, "enum", 26),
            (4, "enum", 1),
            (5, "uint32", t0 + 25 + 7200),
        ],
        local=6,
    )
    return fit.to_bytes()


def brick_two_sessions() -> bytes:
    t0 = fit_time("2024-06-02T08:00:00+00:00")
    fit = FitWriter()
    file_id(fit, 4, GARMIN, FENIX5, 3_945_849_289, t0)
    fit.message(
        DEVICE_INFO,
        [
            (253, "uint32", t0),
            (0, "uint8", 0),
            (2, "uint16", GARMIN),
            (4, "uint16", FENIX5),
            (27, "string", "Forerunner Lab"),
        ],
    )
    for offset, lat in [(30, 48.0), (65, 48.001), (100, 48.002)]:
        fit.message(
            RECORD,
            [
                (253, "uint32", t0 + offset),
                (0, "sint32", semicircles(lat)),
                (1, "sint32", semicircles(11.0)),
            ],
            local=1,
        )
    # A session without total_timer_time: duration falls back to the elapsed time.
    session(fit, t0, RUNNING, 0, elapsed_s=60, metres=200)
    # fitness_equipment (4) / indoor_cycling (6): the sub_sport decides.
    session(fit, t0 + 70, 4, 6, elapsed_s=60, timer_s=55, kcal=12)
    return fit.to_bytes()


def pool_swim_hr_messages() -> bytes:
    t0 = fit_time("2024-07-03T12:00:00+00:00")
    swim = FitWriter()
    file_id(swim, 4, GARMIN, FR735XT, 3_924_789_282, t0)
    fit_record = [(253, "uint32", t0 + 1)]
    swim.message(RECORD, fit_record, local=1)
    session(swim, t0, 5, 17, elapsed_s=60, timer_s=60, metres=50, kcal=8)
    swim.message(
        ACTIVITY, [(253, "uint32", t0 + 60), (1, "uint16", 1), (5, "uint32", t0 + 60 - 4 * 3600)]
    )
    # The watch appends heart rate as a second FIT file, with no file_id of its own.
    hr = FitWriter()
    anchor_ticks = 1_000_000  # the strap's own clock, 1/1024 s
    hr.message(
        HR,
        [
            (253, "uint32", t0 + 1),
            (0, "uint16", 16384),  # + 0.5 s
            (9, "uint32", [anchor_ticks]),
            (6, "uint8", [100]),
        ],
    )
    # Three beats one second apart, 1.5 s (crossing a 12-bit wrap), then padding.
    ticks = [anchor_ticks + 1024, anchor_ticks + 2048, anchor_ticks + 3584]
    ticks += [ticks[-1]] * 5
    hr.message(
        HR,
        [(6, "uint8", [101, 102, 103, 103, 103, 103, 103, 103]), (10, "byte", pack12(ticks))],
        local=1,
    )
    return chain(swim, hr)


def monitoring_two_activity_types() -> bytes:
    # Local time is UTC+2: the local day 2024-05-01 starts at 2024-04-30T22:00Z.
    midnight = fit_time("2024-04-30T22:00:00+00:00")
    fit = FitWriter()
    file_id(fit, 32, GARMIN, VIVOFIT, 3_882_708_276, midnight)
    fit.message(
        MONITORING_INFO,
        [
            (253, "uint32", midnight),
            (0, "uint32", midnight + 7200),
            (1, "enum", [WALKING, RUNNING]),
        ],
    )

    def at(text: str) -> int:
        return fit_time(text) & 0xFFFF

    def vivofit(text: str, activity: int, cycles: int | None = None) -> None:
        # Like the vivofit: activity type packed into current_activity_type_intensity,
        # so fitdecode leaves `cycles` unresolved (half-steps).
        fields = [(26, "uint16", at(text)), (24, "byte", activity | (2 << 5))]
        fit.message(MONITORING, fields + ([(3, "uint32", cycles)] if cycles else []), local=1)

    vivofit("2024-05-01T06:00:00+00:00", WALKING, 500)
    vivofit("2024-05-01T07:00:00+00:00", WALKING, 800)
    fit.message(
        MONITORING,
        [
            (26, "uint16", at("2024-05-01T07:30:00+00:00")),
            (5, "enum", RUNNING),
            (3, "uint32", 1200),
            (2, "uint32", 150_000),
            (19, "uint16", 90),
        ],
        local=2,
    )
    vivofit("2024-05-01T07:30:00+00:00", SEDENTARY)
    vivofit("2024-05-01T08:00:00+00:00", WALKING, 800)  # no new steps: no row
    fit.message(
        MONITORING,
        [(26, "uint16", at("2024-05-01T09:00:00+00:00")), (27, "uint8", 72)],
        local=3,
    )
    vivofit("2024-05-01T20:00:00+00:00", WALKING, 850)  # 11 h on: timestamp_16 wraps
    # End-of-day summary, stamped at the local midnight that ends the day.
    end_of_day = fit_time("2024-05-01T22:00:00+00:00")
    fit.message(
        MONITORING,
        [
            (253, "uint32", end_of_day),
            (5, "enum", WALKING),
            (3, "uint32", 900),
            (19, "uint16", 40),
            (29, "uint16", 1440),
        ],
        local=4,
    )
    # The next local day: the counters start again from zero.
    vivofit("2024-05-01T23:00:00+00:00", WALKING, 50)
    fit.message(
        MONITORING,
        [
            (26, "uint16", at("2024-05-01T23:30:00+00:00")),
            (5, "enum", RUNNING),
            (3, "uint32", 1500),
        ],
        local=5,
    )
    return fit.to_bytes()


def weight_scale_two_users() -> bytes:
    t0 = fit_time("2024-01-15T06:30:00+00:00")
    fit = FitWriter()
    file_id(fit, 9, GARMIN, INDEX_SCALE, 1234, t0)
    for index, label in enumerate(["Alex", "Sam"]):
        fit.message(USER_PROFILE, [(254, "uint16", index), (0, "string", label)])
    fit.message(
        WEIGHT_SCALE,
        [
            (253, "uint32", t0),
            (0, "uint16", 7580),
            (1, "uint16", 2230),
            (2, "uint16", 5510),
            (4, "uint16", 320),
            (5, "uint16", 3550),
            (11, "uint8", 7),
            (13, "uint16", 231),
            (12, "uint16", 0),
        ],
        local=1,
    )
    fit.message(
        WEIGHT_SCALE,
        [
            (253, "uint32", t0 + 600),
            (0, "uint16", 5820),
            (1, "uint16", 2510),
            (7, "uint16", 1400 * 4),
            (10, "uint8", 40),
            (12, "uint16", 1),
        ],
        local=2,
    )
    # Stepped off before the scale settled.
    fit.message(WEIGHT_SCALE, [(253, "uint32", t0 + 900), (0, "uint16", 0xFFFE)], local=3)
    return fit.to_bytes()


def file_id(fit: FitWriter, kind: int, maker: int, product: int, serial: int, time: int) -> None:
    fit.message(
        FILE_ID,
        [
            (0, "enum", kind),
            (1, "uint16", maker),
            (2, "uint16", product),
            (3, "uint32z", serial),
            (4, "uint32", time),
        ],
        local=15,
    )


def session(
    fit: FitWriter,
    start: int,
    sport: int,
    sub_sport: int,
    *,
    elapsed_s: int,
    timer_s: int | None = None,
    metres: int | None = None,
    kcal: int | None = None,
    hr: tuple[int, int] | None = None,
) -> None:
    fields = [(253, "uint32", start + elapsed_s), (2, "uint32", start), (5, "enum", sport)]
    fields += [(6, "enum", sub_sport), (7, "uint32", elapsed_s * 1000)]
    if timer_s is not None:
        fields.append((8, "uint32", timer_s * 1000))
    if metres is not None:
        fields.append((9, "uint32", metres * 100))
    if kcal is not None:
        fields.append((11, "uint16", kcal))
    if hr is not None:
        fields += [(16, "uint8", hr[0]), (17, "uint8", hr[1])]
    fit.message(SESSION, fields, local=14)


def pack12(values: list[int]) -> bytes:
    """event_timestamp_12: the low 12 bits of each value, packed little-endian."""
    bits = 0
    for index, value in enumerate(values):
        bits |= (value & 0xFFF) << (12 * index)
    return bits.to_bytes(len(values) * 12 // 8, "little")


def build() -> dict[str, bytes]:
    """Every fixture's bytes by file name."""
    run = run_offset_dev_field()
    return {
        "run_offset_dev_field.fit": run,
        "brick_two_sessions.fit": brick_two_sessions(),
        "pool_swim_hr_messages.fit": pool_swim_hr_messages(),
        "monitoring_two_activity_types.fit": monitoring_two_activity_types(),
        "weight_scale_two_users.fit": weight_scale_two_users(),
        "truncated.fit": run[:-40],
        "bad_crc.fit": run[:-2] + bytes([run[-2] ^ 0xFF, run[-1]]),
    }


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for file_name, data in build().items():
        (FOLDER / file_name).write_bytes(data)
        print(f"{file_name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
