-- The buyer's signed statement on a claim (one per claim) and the photos sent with it, as base64 text like the
-- return photos.
CREATE TABLE claim_statements (
    claim_id      TEXT PRIMARY KEY REFERENCES claims (id),
    description   TEXT NOT NULL,
    signed_name   TEXT NOT NULL,
    language      TEXT NOT NULL,
    photos        BIGINT NOT NULL,
    submitted_at  BIGINT NOT NULL
);

CREATE TABLE claim_photos (
    claim_id      TEXT NOT NULL REFERENCES claims (id),
    seq           BIGINT NOT NULL,
    content_type  TEXT NOT NULL,
    data          TEXT NOT NULL,
    PRIMARY KEY (claim_id, seq)
);
