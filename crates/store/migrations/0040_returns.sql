-- Returns (RTO): expected on the carrier's return scan, received by scan, graded line by line.
CREATE TABLE returns (
    id                   TEXT PRIMARY KEY,
    order_id             TEXT NOT NULL REFERENCES orders (id),
    shipment_id          TEXT NOT NULL,
    tracking_number      TEXT NOT NULL,
    carrier              TEXT NOT NULL,
    channel              TEXT NOT NULL,
    country              TEXT NOT NULL,
    -- Where it is expected: the warehouse that shipped it.
    warehouse_id         TEXT NOT NULL,
    status               TEXT NOT NULL,
    started_at           BIGINT NOT NULL,
    carrier_returned_at  BIGINT,
    expected_by          BIGINT NOT NULL,
    received_at          BIGINT,
    received_warehouse   TEXT,
    closed_at            BIGINT,
    overdue_task         BIGINT NOT NULL DEFAULT 0,
    note                 TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX returns_shipment ON returns (shipment_id);
CREATE INDEX returns_tracking ON returns (tracking_number);
CREATE INDEX returns_due ON returns (status, expected_by);

CREATE TABLE return_lines (
    return_id      TEXT NOT NULL REFERENCES returns (id),
    seq            BIGINT NOT NULL,
    product_id     TEXT NOT NULL,
    sku            TEXT NOT NULL,
    grade          TEXT NOT NULL,
    quantity       BIGINT NOT NULL,
    disposition    TEXT,
    bin            TEXT,
    unit_cost      BIGINT NOT NULL,
    cost_currency  TEXT NOT NULL,
    PRIMARY KEY (return_id, seq)
);

-- Photos taken on grading, kept as base64 text so both engines store them alike (bounded by the app).
CREATE TABLE return_photos (
    return_id     TEXT NOT NULL REFERENCES returns (id),
    seq           BIGINT NOT NULL,
    content_type  TEXT NOT NULL,
    data          TEXT NOT NULL,
    taken_at      BIGINT NOT NULL,
    PRIMARY KEY (return_id, seq)
);
