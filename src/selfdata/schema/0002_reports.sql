-- selfdata schema version 2: the record of rendered reports.
-- `selfdata reports run-due` writes one row per report it rendered, so that
-- running it again renders nothing new; docs/schema.md documents each column.

CREATE TABLE rendered_reports (
    report           VARCHAR NOT NULL,   -- the schedule entry's name (its template's, by default)
    template         VARCHAR NOT NULL,
    template_version VARCHAR NOT NULL,
    every            VARCHAR NOT NULL CHECK (every IN ('week', 'month', 'year')),
    period           VARCHAR NOT NULL,   -- the period's label, e.g. 2025-06, 2025-W07
    start_date       DATE NOT NULL,
    end_date         DATE NOT NULL,
    file_path        VARCHAR NOT NULL,   -- relative to the vault's folder where it lies inside it
    rendered_at      TIMESTAMPTZ NOT NULL,
    seconds          DOUBLE,
    selfdata_version VARCHAR NOT NULL,
    PRIMARY KEY (report, every, period)
);
