-- What the carrier's own API answered for bags and pickups, where it takes them: its bag number, its manifest
-- number, or why sending them failed (a retry sends them again; the carrier answers the same on our reference).
ALTER TABLE bags ADD COLUMN carrier_ref TEXT;
ALTER TABLE handovers ADD COLUMN carrier_ref TEXT;
ALTER TABLE handovers ADD COLUMN carrier_error TEXT;
