-- The route decided for a refused parcel abroad: re-import, hold in a return warehouse there, or liquidate.
ALTER TABLE returns ADD COLUMN route TEXT;
ALTER TABLE returns ADD COLUMN route_at BIGINT;
-- A lane's usual return time is read from its latest received returns.
CREATE INDEX returns_lane ON returns (carrier, country, received_at);
