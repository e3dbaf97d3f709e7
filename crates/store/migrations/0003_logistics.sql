-- Logistics: channels with their rate cards, duty and tax rules, the allocation each order got, and
-- shipments, which double as the booking job queue.

-- A channel is a configuration document (coverage, limits, rate card) read whole into memory; the few
-- columns beside it are what lists filter and sort on.
CREATE TABLE channels (
    code        TEXT PRIMARY KEY,
    carrier     TEXT NOT NULL,
    enabled     BIGINT NOT NULL,
    priority    BIGINT NOT NULL,
    spec        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE duty_rules (
    country         TEXT NOT NULL,
    effective_from  TEXT NOT NULL,
    spec            TEXT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (country, effective_from)
);

INSERT INTO settings (key, value, updated_at) VALUES
    ('allocation_strategy', 'expected_profit', 0),
    ('incoterm', 'DDP', 0),
    ('auto_book', 'false', 0),
    ('delivery_prior_pct', '85', 0);

-- The ranking and explanation behind an order's channel.
ALTER TABLE orders ADD COLUMN allocation TEXT;

-- One row per booking attempt of an order. The id is the idempotency key sent to the carrier, so a retry
-- after a crash finds the booking the carrier already made instead of making another. Status `pending`
-- rows are the booking queue, claimed with a lease.
CREATE TABLE shipments (
    id               TEXT PRIMARY KEY,
    order_id         TEXT NOT NULL REFERENCES orders (id),
    channel          TEXT NOT NULL,
    carrier          TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    lease_until      BIGINT NOT NULL,
    tracking_number  TEXT,
    carrier_ref      TEXT,
    label            TEXT,
    last_error       TEXT,
    weight_g         BIGINT NOT NULL,
    pieces           BIGINT NOT NULL,
    cod_minor        BIGINT NOT NULL,
    cod_currency     TEXT NOT NULL,
    sort_code        TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    booked_at        BIGINT
);
-- At most one live shipment per order: a cancelled one may be followed by another.
CREATE UNIQUE INDEX shipments_live_order ON shipments (order_id) WHERE status <> 'cancelled';
CREATE INDEX shipments_queue ON shipments (status, lease_until);
CREATE UNIQUE INDEX shipments_tracking ON shipments (tracking_number);
