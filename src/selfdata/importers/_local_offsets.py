"""Local UTC offsets from coordinates, for sources that give UTC instants only.

Google's location exports say where and when (in UTC), never in which time
zone. The zone comes from the coordinates, through tzfpy's offline zone
boundaries (https://github.com/ringsaturn/tzfpy), and the offset from the zone's
rules at the instant (zoneinfo). Done per point that would be millions of
Python calls, so both steps work on unique values only:

- zones are looked up once per cell of 0.01 degree (about 1 km; near a border
  a point may take its neighbour's zone), each cell once per import;
- offsets are computed once per (zone, UTC day); on a day the zone's offset
  changes (a DST switch), per hour, and in the hour it changes, per point.
- both take unique values of *runs*: points in time order stay in one cell and
  one day for long stretches, so little is sorted.

The open sea has `Etc/GMT±N` zones; where tzfpy knows no zone (the poles) the
offset is NULL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import tzfpy

__all__ = ["LocalOffsets"]

_CELLS_PER_DEGREE = 100
_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US
_NO_ZONE = -1
_UNKNOWN = np.iinfo(np.int32).min  # an offset that could not be found
_CHANGING = _UNKNOWN + 1  # an hour in which the offset changes


class LocalOffsets:
    """Offsets in minutes for (lat, lon, instant) columns; remembers zones and hours it saw.

    Example:
        >>> import numpy as np
        >>> offsets = LocalOffsets()
        >>> july = np.array([1_720_000_000_000_000, 1_720_000_000_000_000])  # 2024-07-03
        >>> offsets.minutes(np.array([35.68, 40.71]), np.array([139.69, -74.0]), july).tolist()
        [540, -240]
    """

    def __init__(self) -> None:
        self._zone_of_cell: dict[int, int] = {}
        self._zones: list[ZoneInfo | None] = []
        self._zone_index: dict[str, int] = {}
        self._period_offsets: dict[int, dict[int, int]] = {}

    def minutes(
        self,
        lat: npt.NDArray[np.float64],
        lon: npt.NDArray[np.float64],
        instants_us: npt.NDArray[np.int64],
        valid: npt.NDArray[np.bool_] | None = None,
    ) -> pa.Array:
        """Each point's offset (int16, NULL where unknown or not `valid`)."""
        result = np.full(len(lat), _UNKNOWN, np.int32)
        usable = np.isfinite(lat) & np.isfinite(lon)
        if valid is not None:
            usable &= valid
        index = np.flatnonzero(usable)
        if len(index):
            zones = self._zones_of(lat[index], lon[index])
            known = zones != _NO_ZONE
            result[index[known]] = self._offsets_of(zones[known], instants_us[index][known])
        # From buffers: `pa.array` on numpy would import pandas (0.3 s) into the import.
        known = np.packbits(result != _UNKNOWN, bitorder="little")
        minutes = pa.py_buffer(result.astype(np.int16))
        return pa.Array.from_buffers(pa.int16(), len(result), [pa.py_buffer(known), minutes])

    def _zones_of(
        self, lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.int64]:
        """The zone index of each point, looking each new cell up once."""
        rows = np.rint(lat * _CELLS_PER_DEGREE).astype(np.int64)
        columns = np.rint(lon * _CELLS_PER_DEGREE).astype(np.int64)
        cells, inverse = _unique(rows * 100_000 + columns)
        zone_of_cell = np.array([self._zone_of(int(cell)) for cell in cells], np.int64)
        return zone_of_cell[inverse]

    def _zone_of(self, cell: int) -> int:
        zone = self._zone_of_cell.get(cell)
        if zone is None:
            row, column = divmod(cell + 50_000, 100_000)
            name = tzfpy.get_tz((column - 50_000) / _CELLS_PER_DEGREE, row / _CELLS_PER_DEGREE)
            zone = self._zone_of_cell[cell] = self._index(name)
        return zone

    def _index(self, name: str) -> int:
        if not name:
            return _NO_ZONE
        if name not in self._zone_index:
            try:
                zone: ZoneInfo | None = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                zone = None
            self._zone_index[name] = len(self._zones) if zone else _NO_ZONE
            if zone:
                self._zones.append(zone)
        return self._zone_index[name]

    def _offsets_of(
        self, zones: npt.NDArray[np.int64], instants_us: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int32]:
        """Offsets for points with known zones: per (zone, day), per hour on the days the
        clocks change, and per point in the hour they change."""
        offsets = self._per_period(zones, instants_us, _DAY_US)
        changing = np.flatnonzero(offsets == _CHANGING)
        if len(changing):
            offsets[changing] = self._per_period(zones[changing], instants_us[changing], _HOUR_US)
        for point in np.flatnonzero(offsets == _CHANGING):  # a few points a year
            zone = self._zones[int(zones[point])]
            assert zone is not None
            offsets[point] = _offset(zone, int(instants_us[point]) / 1e6)
        return offsets.astype(np.int32)

    def _per_period(
        self, zones: npt.NDArray[np.int64], instants_us: npt.NDArray[np.int64], period_us: int
    ) -> npt.NDArray[np.int64]:
        periods = np.floor_divide(instants_us, period_us) + (1 << 31)
        keys, inverse = _unique((zones << 32) + periods)
        cache = self._period_offsets.setdefault(period_us, {})
        per_key = np.array([self._period_offset(int(k), period_us, cache) for k in keys], np.int64)
        return per_key[inverse]

    def _period_offset(self, key: int, period_us: int, cache: dict[int, int]) -> int:
        """The zone's offset through the period, or _CHANGING when it changes within it."""
        offset = cache.get(key)
        if offset is None:
            zone = self._zones[key >> 32]
            assert zone is not None
            seconds = period_us // 1_000_000
            start = ((key & 0xFFFFFFFF) - (1 << 31)) * seconds
            first, last = _offset(zone, start), _offset(zone, start + seconds - 1)
            offset = cache[key] = first if first == last else _CHANGING
        return offset


def _unique(values: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """np.unique with its inverse, sorting only runs: points in time order repeat their
    cell and their day, so there are far fewer runs than points."""
    if not len(values):
        return values, np.zeros(0, np.intp)
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    uniques, run_inverse = np.unique(values[starts], return_inverse=True)
    lengths = np.diff(np.append(starts, len(values)))
    return uniques, np.repeat(run_inverse.reshape(-1), lengths)


def _offset(zone: ZoneInfo, seconds: float) -> int:
    """The zone's offset at an instant, in whole minutes (_UNKNOWN beyond datetime's years)."""
    try:
        delta = datetime.fromtimestamp(seconds, UTC).astimezone(zone).utcoffset()
    except (OverflowError, OSError, ValueError):
        return _UNKNOWN
    return round(delta.total_seconds() / 60) if delta is not None else _UNKNOWN
