-- Numbers people read off paper (wave tickets W000012, bag codes B000012), handed out one at a time: the row's
-- update holds it until the transaction ends, so two stations never draw the same number.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    n     BIGINT NOT NULL
);
INSERT INTO counters (name, n) SELECT 'wave', COUNT(*) FROM waves;
INSERT INTO counters (name, n) SELECT 'bag', COUNT(*) FROM bags;
