-- Each console user's own language, time zone and the name shown to colleagues; empty means "the seller's
-- setting" (time zone) or "what the browser asks for" (language).
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
