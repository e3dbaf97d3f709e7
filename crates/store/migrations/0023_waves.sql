-- Waves: allocated orders of one warehouse (and channel) picked together. A wave's short code is its ticket at
-- the pack station; an order with several items gets a sort slot, single-item orders are picked as one batch.
CREATE TABLE waves (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    warehouse   TEXT NOT NULL,
    channel     TEXT,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE wave_orders (
    wave_id   TEXT NOT NULL REFERENCES waves (id),
    order_id  TEXT NOT NULL UNIQUE REFERENCES orders (id),
    slot      BIGINT,
    position  BIGINT NOT NULL,
    PRIMARY KEY (wave_id, order_id)
);
CREATE INDEX wave_orders_by_position ON wave_orders (wave_id, position);
