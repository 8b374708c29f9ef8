-- selfdata canonical schema, version 1.
-- Times are TIMESTAMPTZ instants plus utc_offset_min, the local offset the
-- source gave (NULL when unknown). Every imported row carries import_id; every
-- table has a JSON `extra` column for source detail the canonical columns
-- cannot hold. docs/schema.md documents each column and natural key.

CREATE SEQUENCE import_id_seq START 1;

CREATE TABLE imports (
    import_id        BIGINT PRIMARY KEY,
    importer         VARCHAR NOT NULL,
    importer_version VARCHAR NOT NULL,
    file_name        VARCHAR NOT NULL,
    file_sha256      VARCHAR NOT NULL,
    file_bytes       BIGINT NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ NOT NULL,
    status           VARCHAR NOT NULL,       -- 'ok', or 'ok_with_rejects'
    rows_new         JSON NOT NULL,          -- {"table": count, ...}
    rows_duplicate   JSON NOT NULL,
    rows_rejected    JSON NOT NULL,
    extra            JSON
);

CREATE TABLE health_samples (
    import_id      BIGINT NOT NULL,
    metric         VARCHAR NOT NULL,
    start_at       TIMESTAMPTZ NOT NULL,
    end_at         TIMESTAMPTZ NOT NULL,
    utc_offset_min SMALLINT,
    value          DOUBLE,
    unit           VARCHAR,
    source_name    VARCHAR,
    device         VARCHAR,
    source_type    VARCHAR,
    extra          JSON
);

CREATE TABLE sleep_segments (
    import_id      BIGINT NOT NULL,
    start_at       TIMESTAMPTZ NOT NULL,
    end_at         TIMESTAMPTZ NOT NULL,
    utc_offset_min SMALLINT,
    stage          VARCHAR NOT NULL
        CHECK (stage IN ('in_bed', 'asleep', 'awake', 'core', 'deep', 'rem')),
    source_name    VARCHAR,
    device         VARCHAR,
    extra          JSON
);

CREATE TABLE workouts (
    import_id      BIGINT NOT NULL,
    workout_id     VARCHAR NOT NULL,
    sport          VARCHAR NOT NULL,
    start_at       TIMESTAMPTZ NOT NULL,
    end_at         TIMESTAMPTZ,
    utc_offset_min SMALLINT,
    duration_s     DOUBLE,
    distance_m     DOUBLE,
    energy_kcal    DOUBLE,
    avg_heart_rate DOUBLE,
    max_heart_rate DOUBLE,
    source_name    VARCHAR,
    device         VARCHAR,
    extra          JSON
);

CREATE TABLE location_points (
    import_id      BIGINT NOT NULL,
    recorded_at    TIMESTAMPTZ,
    utc_offset_min SMALLINT,
    lat            DOUBLE NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon            DOUBLE NOT NULL CHECK (lon BETWEEN -180 AND 180),
    accuracy_m     DOUBLE,
    altitude_m     DOUBLE,
    speed_mps      DOUBLE,
    source         VARCHAR NOT NULL,
    workout_id     VARCHAR,
    extra          JSON
);

CREATE TABLE visits (
    import_id      BIGINT NOT NULL,
    start_at       TIMESTAMPTZ NOT NULL,
    end_at         TIMESTAMPTZ,
    utc_offset_min SMALLINT,
    lat            DOUBLE,
    lon            DOUBLE,
    place_id       VARCHAR,
    place_name     VARCHAR,
    place_address  VARCHAR,
    semantic_type  VARCHAR,
    confidence     DOUBLE,
    derived        BOOLEAN NOT NULL DEFAULT false,
    extra          JSON
);

CREATE TABLE trips (
    import_id      BIGINT NOT NULL,
    start_at       TIMESTAMPTZ NOT NULL,
    end_at         TIMESTAMPTZ,
    utc_offset_min SMALLINT,
    start_lat      DOUBLE,
    start_lon      DOUBLE,
    end_lat        DOUBLE,
    end_lon        DOUBLE,
    distance_m     DOUBLE,
    mode           VARCHAR NOT NULL DEFAULT 'unknown'
        CHECK (mode IN ('walking', 'running', 'cycling', 'car', 'bus', 'train', 'tram',
                        'subway', 'ferry', 'flying', 'other', 'unknown')),
    derived        BOOLEAN NOT NULL DEFAULT false,
    extra          JSON
);

-- Accounts are shared by every statement of the same account, so they carry
-- the import that first saw them rather than being owned by one import.
CREATE TABLE accounts (
    account_id     VARCHAR PRIMARY KEY,
    institution    VARCHAR,
    name           VARCHAR,
    number_masked  VARCHAR,
    currency       VARCHAR,
    kind           VARCHAR,
    import_id      BIGINT,
    extra          JSON
);

CREATE TABLE transactions (
    import_id      BIGINT NOT NULL,
    account_id     VARCHAR NOT NULL,
    booked_date    DATE NOT NULL,
    value_date     DATE,
    amount         DECIMAL(18, 2) NOT NULL,
    currency       VARCHAR,
    description    VARCHAR,
    counterparty   VARCHAR,
    merchant       VARCHAR,
    category       VARCHAR,
    bank_ref       VARCHAR,
    balance_after  DECIMAL(18, 2),
    extra          JSON
);

CREATE TABLE energy_readings (
    import_id      BIGINT NOT NULL,
    meter_id       VARCHAR NOT NULL,
    commodity      VARCHAR NOT NULL,
    start_at       TIMESTAMPTZ NOT NULL,
    utc_offset_min SMALLINT,
    duration_s     INTEGER NOT NULL,
    quantity       DOUBLE,
    unit           VARCHAR,
    cost           DECIMAL(18, 4),
    currency       VARCHAR,
    extra          JSON
);
