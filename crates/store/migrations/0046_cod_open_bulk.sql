-- Bulk cash-state moves (a remittance settling a million parcels) keep the open-COD sums in one grouped
-- statement of their own instead of one delta row per parcel from the trigger. While such a move runs in
-- a transaction the trigger stands aside: on SQLite a row in cod_open_bulk (written and deleted inside the
-- one writer's transaction, so no other connection ever sees it), on PostgreSQL the transaction-local
-- setting codflow.cod_open_bulk.

-- sqlite:begin
CREATE TABLE cod_open_bulk (held INTEGER NOT NULL);
DROP TRIGGER cod_open_changed;
CREATE TRIGGER cod_open_changed
AFTER UPDATE OF cod_status, cod_minor, cod_currency, delivered_at, booked_at, status, carrier, lane_channel, lane_country
ON tracking
WHEN (OLD.cod_status IS NOT NEW.cod_status OR OLD.cod_minor IS NOT NEW.cod_minor
  OR OLD.cod_currency IS NOT NEW.cod_currency OR OLD.delivered_at IS NOT NEW.delivered_at
  OR OLD.booked_at IS NOT NEW.booked_at OR OLD.carrier IS NOT NEW.carrier
  OR OLD.lane_channel IS NOT NEW.lane_channel OR OLD.lane_country IS NOT NEW.lane_country
  OR (OLD.status IN ('returning', 'returned', 'lost', 'damaged', 'cancelled'))
     IS NOT (NEW.status IN ('returning', 'returned', 'lost', 'damaged', 'cancelled'))
  )
  AND NOT EXISTS (SELECT 1 FROM cod_open_bulk)
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
-- sqlite:end

-- postgres:begin
DROP TRIGGER cod_open_changed ON tracking;
CREATE TRIGGER cod_open_changed
AFTER UPDATE OF cod_status, cod_minor, cod_currency, delivered_at, booked_at, status, carrier, lane_channel, lane_country
ON tracking FOR EACH ROW
WHEN ((OLD.cod_status IS DISTINCT FROM NEW.cod_status OR OLD.cod_minor IS DISTINCT FROM NEW.cod_minor
  OR OLD.cod_currency IS DISTINCT FROM NEW.cod_currency OR OLD.delivered_at IS DISTINCT FROM NEW.delivered_at
  OR OLD.booked_at IS DISTINCT FROM NEW.booked_at OR OLD.carrier IS DISTINCT FROM NEW.carrier
  OR OLD.lane_channel IS DISTINCT FROM NEW.lane_channel OR OLD.lane_country IS DISTINCT FROM NEW.lane_country
  OR (OLD.status IN ('returning', 'returned', 'lost', 'damaged', 'cancelled'))
     IS DISTINCT FROM (NEW.status IN ('returning', 'returned', 'lost', 'damaged', 'cancelled')))
  AND current_setting('codflow.cod_open_bulk', true) IS DISTINCT FROM 'on')
EXECUTE FUNCTION cod_open_track();
-- postgres:end
