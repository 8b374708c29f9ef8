"""`export.zip` archives laid out as the Health app writes them, built in a test's tmp_path.

Not committed as fixture files: a zip hides its contents from review and diffs,
and every part of it (the export, a route, the clinical document, an ECG) is
small enough to read here.

    apple_health_export/export.xml                       (exportar.xml, Export.xml... by locale)
    apple_health_export/export_cda.xml                   the HL7 clinical document, not ours
    apple_health_export/workout-routes/route_....gpx     one per route, named by FileReference
    apple_health_export/electrocardiograms/ecg_....csv   one per ECG, not ours

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = build_export_zip(Path(folder))
    ...     names = zipfile.ZipFile(path).namelist()
    >>> names[0]
    'apple_health_export/export.xml'
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "CDA_XML",
    "ECG_CSV",
    "EXPORT_FOLDER",
    "ROUTE_GPX",
    "ROUTE_PATH",
    "build_export_zip",
    "build_localized_zip",
    "write_export_zip",
]

DATA = Path(__file__).resolve().parents[1] / "data" / "apple_health"
EXPORT_FOLDER = "apple_health_export"
# What workouts.xml's FileReference names.
ROUTE_PATH = "/workout-routes/route_2024-05-04_7.42am.gpx"

# The route of workouts.xml's second run, as the Health app writes route files:
# GPX 1.1, creator "Apple Health Export", UTC times, un-namespaced extensions.
ROUTE_GPX = b"""<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="Apple Health Export" xmlns="http://www.topografix.com/GPX/1/1" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd">
  <metadata>
    <time>2024-05-07T00:15:02Z</time>
  </metadata>
  <trk>
    <name>Route 2024-05-04 7:42am</name>
    <trkseg>
      <trkpt lon="-73.968285" lat="40.785091"><ele>31.204102</ele>\
<time>2024-05-04T11:42:11Z</time><extensions><speed>2.912044</speed><course>12.480469</course>\
<hAcc>3.216531</hAcc><vAcc>2.104413</vAcc></extensions></trkpt>
      <trkpt lon="-73.968261" lat="40.785117"><ele>31.377930</ele>\
<time>2024-05-04T11:42:12Z</time><extensions><speed>2.950121</speed><course>13.007812</course>\
<hAcc>3.198770</hAcc><vAcc>2.090155</vAcc></extensions></trkpt>
      <trkpt lon="-73.968236" lat="40.785143"><ele>31.529297</ele>\
<time>2024-05-04T11:42:13Z</time><extensions><speed>2.987655</speed><course>13.359375</course>\
<hAcc>3.180012</hAcc><vAcc>2.071210</vAcc></extensions></trkpt>
      <trkpt lon="-73.968236" lat="40.785143"><ele>31.529297</ele>\
<time>2024-05-04T11:42:13Z</time><extensions><speed>2.987655</speed><course>13.359375</course>\
<hAcc>3.180012</hAcc><vAcc>2.071210</vAcc></extensions></trkpt>
    </trkseg>
  </trk>
</gpx>
"""

# A trimmed HL7 CDA document: an XML file beside export.xml that is not the export.
CDA_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <realmCode code="US"/>
 <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
 <title>Health Data Export</title>
 <component><structuredBody><component><section>
  <entry><organizer classCode="CLUSTER" moodCode="EVN"><component><observation classCode="OBS">
   <code code="8867-4" codeSystem="2.16.840.1.113883.6.1" displayName="Heart rate"/>
   <effectiveTime>
    <low value="20240504074211-0400"/><high value="20240504074211-0400"/>
   </effectiveTime>
   <value xsi:type="PQ" value="97" unit="count/min"/>
  </observation></component></organizer></entry>
 </section></component></structuredBody></component>
</ClinicalDocument>
"""

# The start of an ECG recording as the Health app exports it (one file per ECG).
ECG_CSV = """Name,Dan Example
Date of Birth,"Mar 2, 1985"
Recorded Date,2024-01-01 09:12:44 -0500
Classification,Sinus Rhythm
Symptoms,
Software Version,2
Device,"Watch6,4"
Sample Rate,512 hertz

Lead,Lead I
Unit,\u00b5V

-31.208
-28.944
-25.117
-20.473
""".encode()


def write_export_zip(
    path: Path,
    export_xml: bytes,
    *,
    export_name: str = "export.xml",
    routes: Mapping[str, bytes] | None = None,
) -> Path:
    """An export.zip at `path` holding `export_xml` and the usual neighbours.

    `routes` maps a FileReference path (`/workout-routes/route_....gpx`) to the
    GPX bytes stored there.
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{EXPORT_FOLDER}/{export_name}", export_xml)
        archive.writestr(f"{EXPORT_FOLDER}/export_cda.xml", CDA_XML)
        for reference, gpx in (routes or {}).items():
            archive.writestr(f"{EXPORT_FOLDER}/{reference.lstrip('/')}", gpx)
        archive.writestr(f"{EXPORT_FOLDER}/electrocardiograms/ecg_2024-01-01.csv", ECG_CSV)
    return path


def build_export_zip(tmp_path: Path, *, export_name: str = "export.xml") -> Path:
    """`export.zip` from workouts.xml, with the route file its FileReference names."""
    return write_export_zip(
        tmp_path / "export.zip",
        (DATA / "workouts.xml").read_bytes(),
        export_name=export_name,
        routes={ROUTE_PATH: ROUTE_GPX},
    )


def build_localized_zip(tmp_path: Path) -> Path:
    """The same archive from a Spanish iPhone, whose export is called `exportar.xml`."""
    return build_export_zip(tmp_path, export_name="exportar.xml")
