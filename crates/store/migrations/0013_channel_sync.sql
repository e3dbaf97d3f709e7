-- Orders coming in from the seller's shops. Every webhook delivery and every order a pull finds is kept as
-- it arrived (the raw body) before anything is done with it: a delivery is acknowledged as soon as it is
-- stored, a bad order stays here with its error for a person to look at and replay, and a replay of the same
-- delivery (same shop, same delivery id) is recognised and not stored twice.
CREATE TABLE channel_inbox (
    id                 TEXT PRIMARY KEY,
    store_code         TEXT NOT NULL REFERENCES stores (code),
    source             TEXT NOT NULL,
    topic              TEXT NOT NULL,
    delivery_id        TEXT NOT NULL,
    body               TEXT NOT NULL,
    received_at        BIGINT NOT NULL,
    status             TEXT NOT NULL,
    attempts           BIGINT NOT NULL,
    external_id        TEXT,
    remote_updated_at  BIGINT,
    order_id           TEXT,
    outcome            TEXT,
    error              TEXT,
    processed_at       BIGINT,
    UNIQUE (store_code, delivery_id)
);
CREATE INDEX channel_inbox_pending ON channel_inbox (id) WHERE status = 'pending';
CREATE INDEX channel_inbox_by_store ON channel_inbox (store_code, status, id);
CREATE INDEX channel_inbox_by_order ON channel_inbox (store_code, external_id, remote_updated_at);

-- Where each shop's pull stands: the newest change it has seen (the next pull starts a little before it, so
-- an order changed while a pull ran is not missed) and how the last runs went.
CREATE TABLE channel_sync (
    store_code       TEXT PRIMARY KEY REFERENCES stores (code),
    pulled_until     BIGINT,
    last_pull_at     BIGINT,
    last_success_at  BIGINT,
    last_error       TEXT,
    last_error_at    BIGINT,
    pulled_total     BIGINT NOT NULL
);

-- The stock level each shop was last told, per SKU, so only changes are sent.
CREATE TABLE channel_stock (
    store_code  TEXT NOT NULL REFERENCES stores (code),
    sku         TEXT NOT NULL,
    pushed      BIGINT,
    status      TEXT NOT NULL,
    error       TEXT,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (store_code, sku)
);
