-- The seller's shops on sales platforms, and the outbox of updates codflow owes them.

-- Credentials and the webhook secret are sealed by the application (AEAD with a key the database never
-- sees); a copy of this table alone does not let anyone call the shop.
CREATE TABLE stores (
    code               TEXT PRIMARY KEY,
    platform           TEXT NOT NULL,
    name               TEXT NOT NULL,
    base_url           TEXT,
    credentials        TEXT,
    webhook_secret     TEXT,
    cod_gateways       TEXT NOT NULL,
    default_warehouse  TEXT,
    push_fulfilment    BIGINT NOT NULL,
    enabled            BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- One row per (shipment, event) whatever is replayed: a parcel is reported shipped once and delivered once.
CREATE TABLE channel_pushes (
    id               TEXT PRIMARY KEY,
    store_code       TEXT NOT NULL REFERENCES stores (code),
    order_id         TEXT NOT NULL REFERENCES orders (id),
    shipment_id      TEXT NOT NULL REFERENCES shipments (id),
    event            TEXT NOT NULL,
    event_at         BIGINT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    last_error       TEXT,
    remote_ref       TEXT,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT,
    UNIQUE (shipment_id, event)
);
CREATE INDEX channel_pushes_due ON channel_pushes (status, next_attempt_at);
CREATE INDEX channel_pushes_order ON channel_pushes (order_id);
