-- Claims against carriers for lost and damaged parcels, and each carrier account's window for filing them.
ALTER TABLE carrier_accounts ADD COLUMN claim_window_days BIGINT NOT NULL DEFAULT 30;
ALTER TABLE carrier_accounts ADD COLUMN claim_window_from TEXT NOT NULL DEFAULT 'last_scan';

CREATE TABLE claims (
    id               TEXT PRIMARY KEY,
    shipment_id      TEXT NOT NULL,
    order_id         TEXT NOT NULL REFERENCES orders (id),
    tracking_number  TEXT NOT NULL,
    carrier          TEXT NOT NULL,
    reason           TEXT NOT NULL,
    status           TEXT NOT NULL,
    currency         TEXT NOT NULL,
    claimed_minor    BIGINT NOT NULL,
    approved_minor   BIGINT,
    paid_minor       BIGINT,
    deadline         BIGINT NOT NULL,
    carrier_ref      TEXT,
    payment_ref      TEXT,
    note             TEXT,
    deadline_task    BIGINT NOT NULL DEFAULT 0,
    filed_at         BIGINT,
    decided_at       BIGINT,
    paid_at          BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
-- One open claim per parcel and reason.
CREATE UNIQUE INDEX claims_shipment_reason ON claims (shipment_id, reason);
CREATE INDEX claims_status_deadline ON claims (status, deadline);
