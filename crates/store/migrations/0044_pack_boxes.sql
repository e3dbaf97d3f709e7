-- The box a parcel was recommended at weighing (its kind and the codes of every box), so damage found later on
-- returns and claims is counted per kind of box.
ALTER TABLE packs ADD COLUMN box_kind TEXT;
ALTER TABLE packs ADD COLUMN box_codes TEXT;
