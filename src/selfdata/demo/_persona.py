"""Who the demo is about, and the places of Alex's year.

Alex lives by London Bridge, works at King's Cross (in the office Monday to
Thursday, at home on Fridays), shops at the Tesco and the Sainsbury's nearby,
trains at a gym in Borough, and spends a week of July in Barcelona. Every
place carries its time zone and country, so each format can write the local
offset and the truth can say which countries Alex was in.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALEX",
    "BARCELONA",
    "EARTH_RADIUS_M",
    "LONDON",
    "Persona",
    "Place",
]

# The mean Earth radius most GPS tools use for haversine distances.
EARTH_RADIUS_M = 6_371_000.0
LONDON = "Europe/London"
# Lisbon would not do: it shares London's offset. Madrid is +01:00/+02:00.
BARCELONA = "Europe/Madrid"


@dataclass(frozen=True)
class Place:
    """A named point the persona goes to, with the zone and country it lies in."""

    name: str
    lat: float
    lon: float
    ele_m: float
    zone: str = LONDON
    country: str = "GB"


@dataclass(frozen=True)
class Persona:
    """Who the demo is about: where they live, work, train and go on holiday."""

    name: str
    timezone: str
    home: Place
    work: Place
    gym: Place
    holiday_timezone: str
    holiday_hotel: Place
    holiday_trailhead: Place


ALEX = Persona(
    name="Alex",
    timezone=LONDON,
    home=Place("Home", 51.5079, -0.0877, 8.0),
    work=Place("Work", 51.5308, -0.1238, 24.0),
    gym=Place("Borough Gym & Spa", 51.5030, -0.0915, 6.0),
    holiday_timezone=BARCELONA,
    holiday_hotel=Place("Hotel, Barceloneta", 41.3809, 2.1896, 4.0, BARCELONA, "ES"),
    holiday_trailhead=Place("Carretera de les Aigües", 41.4106, 2.1199, 330.0, BARCELONA, "ES"),
)

# Alex's other places: stations passed through, shops, a park, the airports.
LONDON_BRIDGE_STATION = Place("London Bridge station", 51.5049, -0.0863, 6.0)
KINGS_CROSS_STATION = Place("King's Cross St Pancras station", 51.5296, -0.1243, 22.0)
LUNCH = Place("Coal Drops Yard", 51.5355, -0.1258, 26.0)
SAINSBURYS = Place("Sainsbury's, Borough", 51.5016, -0.0921, 6.0)
TESCO = Place("Tesco Express, Tooley Street", 51.5037, -0.0760, 5.0)
BOROUGH_MARKET = Place("Borough Market", 51.5055, -0.0910, 6.0)
WAGAMAMA = Place("Wagamama London Bridge", 51.5035, -0.0880, 6.0)
SOUTHWARK_PARK = Place("Southwark Park", 51.4953, -0.0555, 5.0)
CINEMA = Place("ODEON Surrey Quays", 51.4966, -0.0480, 5.0)
GATWICK = Place("Gatwick Airport, South Terminal", 51.1563, -0.1610, 60.0)
BCN_AIRPORT = Place("Barcelona El Prat, T1", 41.2889, 2.0727, 4.0, BARCELONA, "ES")
SAGRADA_FAMILIA = Place("Sagrada Família", 41.4036, 2.1744, 60.0, BARCELONA, "ES")
CASA_BATLLO = Place("Casa Batlló", 41.3916, 2.1649, 45.0, BARCELONA, "ES")
BOQUERIA = Place("Mercat de la Boqueria", 41.3817, 2.1716, 10.0, BARCELONA, "ES")
BEACH = Place("Platja de la Barceloneta", 41.3784, 2.1925, 2.0, BARCELONA, "ES")
