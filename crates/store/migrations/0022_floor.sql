-- The warehouse floor: barcodes on products, pack stations with their printer and device token, each order's
-- work at a station (its scans, weighing and what the weight check decided, with the evidence), and the
-- readings scales and dimensioning devices send.

-- A barcode names one product; a product may carry several (its GTIN, the supplier's, the seller's own).
CREATE TABLE product_barcodes (
    code        TEXT PRIMARY KEY,
    product_id  TEXT NOT NULL REFERENCES products (id),
    created_at  BIGINT NOT NULL
);
CREATE INDEX product_barcodes_by_product ON product_barcodes (product_id, code);

-- `printer` is host:port of a raw-TCP label printer (ZPL); empty means labels open as PDF in the browser.
-- Only the hash of the device token (the bridge's, a DWS device's) is kept.
CREATE TABLE stations (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    warehouse   TEXT NOT NULL,
    printer     TEXT,
    token_hash  TEXT UNIQUE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- One row per order packed: opened by a scan, verified item by item, weighed, then printed, re-booked or held.
-- `evidence` (JSON) keeps the readings, the check and the quotes before and after for a freight dispute.
CREATE TABLE packs (
    id              TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL UNIQUE REFERENCES orders (id),
    shipment_id     TEXT NOT NULL,
    station         TEXT NOT NULL,
    status          TEXT NOT NULL,
    verification    TEXT NOT NULL,
    overridden_by   TEXT,
    weight_g        BIGINT,
    length_cm       BIGINT,
    width_cm        BIGINT,
    height_cm       BIGINT,
    reading_source  TEXT,
    outcome         TEXT,
    evidence        TEXT,
    task_id         TEXT,
    packed_by       TEXT NOT NULL,
    printed_at      BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX packs_by_shipment ON packs (shipment_id);
CREATE INDEX packs_by_station ON packs (station, updated_at);
CREATE INDEX packs_by_status ON packs (status, updated_at);

-- What scales and DWS devices sent, newest last; the pack station takes its station's latest stable one.
CREATE TABLE scale_readings (
    id          TEXT PRIMARY KEY,
    station     TEXT NOT NULL,
    waybill     TEXT,
    weight_g    BIGINT NOT NULL,
    length_cm   BIGINT,
    width_cm    BIGINT,
    height_cm   BIGINT,
    stable      BIGINT NOT NULL,
    source      TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX scale_readings_by_station ON scale_readings (station, at);
CREATE INDEX scale_readings_by_waybill ON scale_readings (waybill, at);

-- A freight invoice line is checked against the weight our scale measured at packing, when it was weighed.
ALTER TABLE invoice_checks ADD COLUMN measured_weight_g BIGINT;

-- A packer scans the shop's order number; it is unique per shop, so the lookup across shops needs its own index.
CREATE INDEX orders_by_external_id ON orders (external_id);
