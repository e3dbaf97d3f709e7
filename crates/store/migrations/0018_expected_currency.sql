-- A statement line's expected amount in the parcel's own currency: a line paid in another currency showed the
-- parcel's amount in the line's currency. Older lines keep NULL and read as before.
ALTER TABLE statement_lines ADD COLUMN expected_currency TEXT;
