"""HealthKit's vocabulary: type identifiers → canonical metrics, and unit conversions.

Data, not parsing: the Apple Health importer and its test oracle both read it.
A quantity type not listed here keeps a snake_case metric named after its
identifier (`HKQuantityTypeIdentifierEnvironmentalAudioExposure` →
`environmental_audio_exposure`) and its own unit, so nothing is dropped.

HealthKit writes percentages as fractions (`0.97` with unit `%`); canonical
`%` values are 0..100, so `%` converts by x100.
"""

from __future__ import annotations

import re

__all__ = [
    "CONVERSIONS",
    "METRICS",
    "SLEEP_STAGES",
    "conversion",
    "convert",
    "metric_for",
    "sport_for",
]

# type identifier → (metric, canonical unit)
METRICS: dict[str, tuple[str, str]] = {
    "HKQuantityTypeIdentifierStepCount": ("steps", "count"),
    "HKQuantityTypeIdentifierHeartRate": ("heart_rate", "count/min"),
    "HKQuantityTypeIdentifierRestingHeartRate": ("resting_heart_rate", "count/min"),
    "HKQuantityTypeIdentifierWalkingHeartRateAverage": ("walking_heart_rate_average", "count/min"),
    "HKQuantityTypeIdentifierHeartRateVariabilitySDNN": ("hrv_sdnn", "ms"),
    "HKQuantityTypeIdentifierActiveEnergyBurned": ("active_energy", "kcal"),
    "HKQuantityTypeIdentifierBasalEnergyBurned": ("basal_energy", "kcal"),
    "HKQuantityTypeIdentifierDistanceWalkingRunning": ("distance_walking_running", "m"),
    "HKQuantityTypeIdentifierDistanceCycling": ("distance_cycling", "m"),
    "HKQuantityTypeIdentifierDistanceSwimming": ("distance_swimming", "m"),
    "HKQuantityTypeIdentifierFlightsClimbed": ("flights_climbed", "count"),
    "HKQuantityTypeIdentifierAppleExerciseTime": ("exercise_minutes", "min"),
    "HKQuantityTypeIdentifierAppleStandTime": ("stand_minutes", "min"),
    "HKQuantityTypeIdentifierBodyMass": ("body_mass", "kg"),
    "HKQuantityTypeIdentifierLeanBodyMass": ("lean_body_mass", "kg"),
    "HKQuantityTypeIdentifierBodyFatPercentage": ("body_fat_percentage", "%"),
    "HKQuantityTypeIdentifierBodyMassIndex": ("bmi", "count"),
    "HKQuantityTypeIdentifierHeight": ("height", "m"),
    "HKQuantityTypeIdentifierBloodPressureSystolic": ("blood_pressure_systolic", "mmHg"),
    "HKQuantityTypeIdentifierBloodPressureDiastolic": ("blood_pressure_diastolic", "mmHg"),
    "HKQuantityTypeIdentifierOxygenSaturation": ("oxygen_saturation", "%"),
    "HKQuantityTypeIdentifierRespiratoryRate": ("respiratory_rate", "count/min"),
    "HKQuantityTypeIdentifierBloodGlucose": ("blood_glucose", "mmol/L"),
    "HKQuantityTypeIdentifierBodyTemperature": ("body_temperature", "degC"),
    "HKQuantityTypeIdentifierVO2Max": ("vo2_max", "mL/min·kg"),
    "HKQuantityTypeIdentifierDietaryEnergyConsumed": ("dietary_energy", "kcal"),
    "HKQuantityTypeIdentifierWalkingSpeed": ("walking_speed", "m/s"),
    "HKQuantityTypeIdentifierWalkingStepLength": ("walking_step_length", "m"),
    "HKQuantityTypeIdentifierWalkingAsymmetryPercentage": ("walking_asymmetry_percentage", "%"),
    "HKQuantityTypeIdentifierWalkingDoubleSupportPercentage": (
        "walking_double_support_percentage",
        "%",
    ),
}

# HKCategoryValueSleepAnalysis* suffix → sleep_segments.stage, for every iOS generation.
SLEEP_STAGES: dict[str, str] = {
    "InBed": "in_bed",
    "Asleep": "asleep",
    "AsleepUnspecified": "asleep",
    "AsleepCore": "core",
    "AsleepDeep": "deep",
    "AsleepREM": "rem",
    "Awake": "awake",
}

# (canonical unit, unit as written) → (factor, offset): canonical = value * factor + offset.
CONVERSIONS: dict[tuple[str, str], tuple[float, float]] = {
    ("kg", "lb"): (0.45359237, 0.0),
    ("kg", "g"): (0.001, 0.0),
    ("kg", "st"): (6.35029318, 0.0),
    ("kcal", "kJ"): (1 / 4.184, 0.0),
    ("kcal", "Cal"): (1.0, 0.0),
    ("kcal", "cal"): (0.001, 0.0),
    ("m", "km"): (1000.0, 0.0),
    ("m", "mi"): (1609.344, 0.0),
    ("m", "ft"): (0.3048, 0.0),
    ("m", "yd"): (0.9144, 0.0),
    ("m", "cm"): (0.01, 0.0),
    ("m", "in"): (0.0254, 0.0),
    ("%", "%"): (100.0, 0.0),
    ("mmol/L", "mg/dL"): (1 / 18.0156, 0.0),
    ("degC", "degF"): (5 / 9, -32 * 5 / 9),
    ("min", "s"): (1 / 60, 0.0),
    ("min", "hr"): (60.0, 0.0),
    ("s", "min"): (60.0, 0.0),
    ("s", "hr"): (3600.0, 0.0),
    ("m/s", "km/hr"): (1 / 3.6, 0.0),
}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_PREFIXES = ("HKQuantityTypeIdentifier", "HKCategoryTypeIdentifier", "HKDataType")


def metric_for(type_identifier: str, unit: str | None) -> tuple[str, str | None]:
    """The canonical metric and unit for a HealthKit type written with `unit`.

    Example:
        >>> metric_for("HKQuantityTypeIdentifierBodyMass", "lb")
        ('body_mass', 'kg')
        >>> metric_for("HKQuantityTypeIdentifierEnvironmentalAudioExposure", "dBASPL")
        ('environmental_audio_exposure', 'dBASPL')
    """
    known = METRICS.get(type_identifier)
    if known:
        return known
    return _snake(_strip(type_identifier)), unit


def convert(value: float, canonical: str | None, unit: str | None) -> float:
    """`value` written in `unit`, in the canonical unit (unchanged when they agree).

    Example:
        >>> round(convert(180.0, "kg", "lb"), 3)
        81.647
    """
    if canonical is None or unit is None:
        return value
    factor, offset = conversion(canonical, unit)
    return value * factor + offset


def conversion(canonical: str | None, unit: str | None) -> tuple[float, float]:
    """(factor, offset) taking a value in `unit` to the canonical unit: `value * factor + offset`.

    Example:
        >>> conversion("kg", "lb")
        (0.45359237, 0.0)
    """
    if canonical is None or unit is None:
        return 1.0, 0.0
    return CONVERSIONS.get((canonical, unit), (1.0, 0.0))


def sport_for(activity_type: str) -> str:
    """`HKWorkoutActivityTypeTraditionalStrengthTraining` → `traditional_strength_training`.

    Example:
        >>> sport_for("HKWorkoutActivityTypeRunning")
        'running'
    """
    return _snake(activity_type.removeprefix("HKWorkoutActivityType")) or "other"


def _strip(type_identifier: str) -> str:
    for prefix in _PREFIXES:
        if type_identifier.startswith(prefix):
            return type_identifier[len(prefix) :]
    return type_identifier


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()
