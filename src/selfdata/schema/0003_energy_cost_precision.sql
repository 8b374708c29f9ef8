-- selfdata schema version 3: energy costs keep the five decimals Green Button gives.
-- ESPI writes costs in hundred-thousandths of the currency; four decimals rounded
-- every hourly reading and a month's total drifted by fractions of a penny.

ALTER TABLE energy_readings ALTER COLUMN cost SET DATA TYPE DECIMAL(18, 5);
