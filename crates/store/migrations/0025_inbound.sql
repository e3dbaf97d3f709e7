-- Inbound goods: purchase orders with their lines, advance shipping notices (one supplier shipment each) with
-- what receiving counted per SKU. A line an ASN did not announce but the dock found has expected = 0.
-- Days are TEXT 'YYYY-MM-DD'.
CREATE TABLE purchase_orders (
    id            TEXT PRIMARY KEY,
    number        TEXT NOT NULL UNIQUE,
    supplier      TEXT NOT NULL,
    warehouse_id  TEXT NOT NULL REFERENCES warehouses (id),
    status        TEXT NOT NULL,
    expected_on   TEXT,
    note          TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX purchase_orders_by_status ON purchase_orders (status, id);

CREATE TABLE purchase_order_lines (
    po_id       TEXT NOT NULL REFERENCES purchase_orders (id),
    product_id  TEXT NOT NULL REFERENCES products (id),
    ordered     BIGINT NOT NULL CHECK (ordered > 0),
    received    BIGINT NOT NULL DEFAULT 0 CHECK (received >= 0),
    damaged     BIGINT NOT NULL DEFAULT 0 CHECK (damaged >= 0),
    PRIMARY KEY (po_id, product_id)
);

CREATE TABLE asns (
    id           TEXT PRIMARY KEY,
    reference    TEXT NOT NULL UNIQUE,
    po_id        TEXT NOT NULL REFERENCES purchase_orders (id),
    status       TEXT NOT NULL,
    tracking     TEXT,
    expected_on  TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    received_at  BIGINT
);
CREATE INDEX asns_by_po ON asns (po_id);
CREATE INDEX asns_by_status ON asns (status, id);

CREATE TABLE asn_lines (
    asn_id      TEXT NOT NULL REFERENCES asns (id),
    product_id  TEXT NOT NULL REFERENCES products (id),
    expected    BIGINT NOT NULL CHECK (expected >= 0),
    good        BIGINT NOT NULL DEFAULT 0 CHECK (good >= 0),
    damaged     BIGINT NOT NULL DEFAULT 0 CHECK (damaged >= 0),
    bin         TEXT,
    PRIMARY KEY (asn_id, product_id)
);
