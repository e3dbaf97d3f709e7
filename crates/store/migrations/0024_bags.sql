-- Sorting and handover: packed parcels go into bags by carrier, channel and destination; a closed bag gets
-- its label and list; a handover is a carrier pickup's manifest of closed bags, each scanned as it leaves.
CREATE TABLE handovers (
    id          TEXT PRIMARY KEY,
    carrier     TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    done_at     BIGINT
);

CREATE TABLE bags (
    id           TEXT PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE,
    warehouse    TEXT NOT NULL,
    carrier      TEXT NOT NULL,
    channel      TEXT NOT NULL,
    country      TEXT NOT NULL,
    status       TEXT NOT NULL,
    handover_id  TEXT REFERENCES handovers (id),
    created_at   BIGINT NOT NULL,
    closed_at    BIGINT,
    handed_at    BIGINT
);
CREATE INDEX bags_by_key ON bags (status, warehouse, carrier, channel, country);
CREATE INDEX bags_by_handover ON bags (handover_id);

CREATE TABLE bag_parcels (
    bag_id       TEXT NOT NULL REFERENCES bags (id),
    shipment_id  TEXT NOT NULL UNIQUE,
    weight_g     BIGINT NOT NULL,
    added_at     BIGINT NOT NULL,
    PRIMARY KEY (bag_id, shipment_id)
);
