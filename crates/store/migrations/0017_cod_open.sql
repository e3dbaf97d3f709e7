-- Open COD kept as sums with the data, so the cash page does not read parcel rows: cash delivered and not yet
-- remitted ('owed') by carrier, currency, channel and the hour it was delivered, and cash still travelling
-- ('travelling') by currency, channel, country and the day it was booked. Triggers append each parcel's
-- change as a signed delta in the same transaction (appends never contend for a row); the dashboards'
-- refresher folds the deltas into the sums, and readers add both.
--
-- A receivable's age is whole days from its delivery to now. Every hour's parcels share one age, except in
-- the hours at the same time of day as now, where a day boundary falls inside the hour; the reader takes those
-- from the parcels themselves, through tracking_owed_by_hour_of_day.

CREATE TABLE cod_open (
    kind      TEXT NOT NULL,
    carrier   TEXT NOT NULL,
    currency  TEXT NOT NULL,
    channel   TEXT NOT NULL,
    country   TEXT NOT NULL,
    -- Hours (owed) or days (travelling) since 1970-01-01 UTC.
    bucket    BIGINT NOT NULL,
    parcels   BIGINT NOT NULL,
    amount    BIGINT NOT NULL,
    PRIMARY KEY (kind, carrier, currency, channel, country, bucket)
) /*sqlite:WITHOUT ROWID*/;

CREATE TABLE cod_open_delta (
    kind      TEXT NOT NULL,
    carrier   TEXT NOT NULL,
    currency  TEXT NOT NULL,
    channel   TEXT NOT NULL,
    country   TEXT NOT NULL,
    bucket    BIGINT NOT NULL,
    parcels   BIGINT NOT NULL,
    amount    BIGINT NOT NULL
);

INSERT INTO cod_open (kind, carrier, currency, channel, country, bucket, parcels, amount)
SELECT 'owed', carrier, cod_currency, lane_channel, '', delivered_at / 3600000000, COUNT(*), SUM(cod_minor)
  FROM tracking
 WHERE cod_status IN ('expected', 'collected') AND delivered_at IS NOT NULL AND cod_minor > 0
 GROUP BY carrier, cod_currency, lane_channel, delivered_at / 3600000000;

INSERT INTO cod_open (kind, carrier, currency, channel, country, bucket, parcels, amount)
SELECT 'travelling', '', cod_currency, lane_channel, lane_country, booked_at / 86400000000, COUNT(*), SUM(cod_minor)
  FROM tracking
 WHERE cod_minor > 0 AND delivered_at IS NULL AND cod_status = 'pending'
   AND status NOT IN ('returning', 'returned', 'lost', 'damaged', 'cancelled')
 GROUP BY cod_currency, lane_channel, lane_country, booked_at / 86400000000;

DROP INDEX tracking_receivable;
DROP INDEX tracking_cod_in_transit;
CREATE INDEX tracking_owed_by_hour_of_day
    ON tracking (((delivered_at / 3600000000) % 24), carrier, cod_currency, lane_channel, delivered_at, cod_minor)
    WHERE cod_status IN ('expected', 'collected') AND delivered_at IS NOT NULL AND cod_minor > 0;

-- sqlite:begin
CREATE TRIGGER cod_open_new AFTER INSERT ON tracking BEGIN
    INSERT INTO cod_open_delta (kind, carrier, currency, channel, country, bucket, parcels, amount)
    SELECT 'owed', NEW.carrier, NEW.cod_currency, NEW.lane_channel, '', NEW.delivered_at / 3600000000, 1, NEW.cod_minor
     WHERE NEW.cod_status IN ('expected', 'collected') AND NEW.delivered_at IS NOT NULL AND NEW.cod_minor > 0;
    INSERT INTO cod_open_delta (kind, carrier, currency, channel, country, bucket, parcels, amount)
    SELECT 'travelling', '', NEW.cod_currency, NEW.lane_channel, NEW.lane_country, NEW.booked_at / 86400000000, 1, NEW.cod_minor
     WHERE NEW.cod_minor > 0 AND NEW.delivered_at IS NULL AND NEW.cod_status = 'pending'
       AND NEW.status NOT IN ('returning', 'returned', 'lost', 'damaged', 'cancelled');
END;
CREATE TRIGGER cod_open_changed
AFTER UPDATE OF cod_status, cod_minor, cod_currency, delivered_at, booked_at, status, carrier, lane_channel, lane_country
ON tracking
WHEN OLD.cod_status IS NOT NEW.cod_status OR OLD.cod_minor IS NOT NEW.cod_minor
  OR OLD.cod_currency IS NOT NEW.cod_currency OR OLD.delivered_at IS NOT NEW.delivered_at
  OR OLD.booked_at IS NOT NEW.booked_at OR OLD.carrier IS NOT NEW.carrier
  OR OLD.lane_channel IS NOT NEW.lane_channel OR OLD.lane_country IS NOT NEW.lane_country
  OR (OLD.status IN ('returning', 'returned', 'lost', 'damaged', 'cancelled'))
     IS NOT (NEW.status IN ('returning', 'returned', 'lost', 'damaged', 'cancelled'))
BEGIN
    INSERT INTO cod_open_delta (kind, carrier, currency, channel, country, bucket, parcels, amount)
    SELECT 'owed', OLD.carrier, OLD.cod_currency, OLD.lane_channel, '', OLD.delivered_at / 3600000000, -1, -OLD.cod_minor
     WHERE OLD.cod_status IN ('expected', 'collected') AND OLD.delivered_at IS NOT NULL AND OLD.cod_minor > 0;
    INSERT INTO cod_open_delta (kind, carrier, currency, channel, country, bucket, parcels, amount)
    SELECT 'travelling', '', OLD.cod_currency, OLD.lane_channel, OLD.lane_country, OLD.booked_at / 86400000000, -1, -OLD.cod_minor
     WHERE OLD.cod_minor > 0 AND OLD.delivered_at IS NULL AND OLD.cod_status = 'pending'
       AND OLD.status NOT IN ('returning', 'returned', 'lost', 'damaged', 'cancelled');
    INSERT INTO cod_open_delta (kind, carrier, currency, channel, country, bucket, parcels, amount)
    SELECT 'owed', NEW.carrier, NEW.cod_currency, NEW.lane_channel, '', NEW.delivered_at / 3600000000, 1, NEW.cod_minor
     WHERE NEW.cod_status IN ('expected', 'collected') AND NEW.delivered_at IS NOT NULL AND NEW.cod_minor > 0;
    INSERT INTO cod_open_delta (kind, carrier, currency, channel, country, bucket, parcels, amount)
    SELECT 'travelling', '', NEW.cod_currency, NEW.lane_channel, NEW.lane_country, NEW.booked_at / 86400000000, 1, NEW.cod_minor
     WHERE NEW.cod_minor > 0 AND NEW.delivered_at IS NULL AND NEW.cod_status = 'pending'
       AND NEW.status NOT IN ('returning', 'returned', 'lost', 'damaged', 'cancelled');
END;
CREATE TRIGGER cod_open_gone AFTER DELETE ON tracking BEGIN
    INSERT INTO cod_open_delta (kind, carrier, currency, channel, country, bucket, parcels, amount)
    SELECT 'owed', OLD.carrier, OLD.cod_currency, OLD.lane_channel, '', OLD.delivered_at / 3600000000, -1, -OLD.cod_minor
     WHERE OLD.cod_status IN ('expected', 'collected') AND OLD.delivered_at IS NOT NULL AND OLD.cod_minor > 0;
    INSERT INTO cod_open_delta (kind, carrier, currency, channel, country, bucket, parcels, amount)
    SELECT 'travelling', '', OLD.cod_currency, OLD.lane_channel, OLD.lane_country, OLD.booked_at / 86400000000, -1, -OLD.cod_minor
     WHERE OLD.cod_minor > 0 AND OLD.delivered_at IS NULL AND OLD.cod_status = 'pending'
       AND OLD.status NOT IN ('returning', 'returned', 'lost', 'damaged', 'cancelled');
END;
-- sqlite:end

-- postgres:begin
CREATE FUNCTION cod_open_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF OLD.cod_status IN ('expected', 'collected') AND OLD.delivered_at IS NOT NULL AND OLD.cod_minor > 0 THEN
            INSERT INTO cod_open_delta (kind, carrier, currency, channel, country, bucket, parcels, amount)
            VALUES ('owed', OLD.carrier, OLD.cod_currency, OLD.lane_channel, '', OLD.delivered_at / 3600000000, -1, -OLD.cod_minor);
        END IF;
        IF OLD.cod_minor > 0 AND OLD.delivered_at IS NULL AND OLD.cod_status = 'pending'
           AND OLD.status NOT IN ('returning', 'returned', 'lost', 'damaged', 'cancelled') THEN
            INSERT INTO cod_open_delta (kind, carrier, currency, channel, country, bucket, parcels, amount)
            VALUES ('travelling', '', OLD.cod_currency, OLD.lane_channel, OLD.lane_country, OLD.booked_at / 86400000000, -1, -OLD.cod_minor);
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF NEW.cod_status IN ('expected', 'collected') AND NEW.delivered_at IS NOT NULL AND NEW.cod_minor > 0 THEN
            INSERT INTO cod_open_delta (kind, carrier, currency, channel, country, bucket, parcels, amount)
            VALUES ('owed', NEW.carrier, NEW.cod_currency, NEW.lane_channel, '', NEW.delivered_at / 3600000000, 1, NEW.cod_minor);
        END IF;
        IF NEW.cod_minor > 0 AND NEW.delivered_at IS NULL AND NEW.cod_status = 'pending'
           AND NEW.status NOT IN ('returning', 'returned', 'lost', 'damaged', 'cancelled') THEN
            INSERT INTO cod_open_delta (kind, carrier, currency, channel, country, bucket, parcels, amount)
            VALUES ('travelling', '', NEW.cod_currency, NEW.lane_channel, NEW.lane_country, NEW.booked_at / 86400000000, 1, NEW.cod_minor);
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER cod_open_new AFTER INSERT OR DELETE ON tracking FOR EACH ROW EXECUTE FUNCTION cod_open_track();
CREATE TRIGGER cod_open_changed
AFTER UPDATE OF cod_status, cod_minor, cod_currency, delivered_at, booked_at, status, carrier, lane_channel, lane_country
ON tracking FOR EACH ROW
WHEN (OLD.cod_status IS DISTINCT FROM NEW.cod_status OR OLD.cod_minor IS DISTINCT FROM NEW.cod_minor
  OR OLD.cod_currency IS DISTINCT FROM NEW.cod_currency OR OLD.delivered_at IS DISTINCT FROM NEW.delivered_at
  OR OLD.booked_at IS DISTINCT FROM NEW.booked_at OR OLD.carrier IS DISTINCT FROM NEW.carrier
  OR OLD.lane_channel IS DISTINCT FROM NEW.lane_channel OR OLD.lane_country IS DISTINCT FROM NEW.lane_country
  OR (OLD.status IN ('returning', 'returned', 'lost', 'damaged', 'cancelled'))
     IS DISTINCT FROM (NEW.status IN ('returning', 'returned', 'lost', 'damaged', 'cancelled')))
EXECUTE FUNCTION cod_open_track();
-- postgres:end
