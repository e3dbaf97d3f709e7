-- Tracking and exceptions: how each carrier's codes map to the shipment taxonomy, the events as received,
-- each booked shipment's progress (the row the poller and the anomaly sweep work from), tasks, and the
-- answers buyers give to a failed delivery.

CREATE TABLE carrier_codes (
    carrier      TEXT NOT NULL,
    code         TEXT NOT NULL,
    status       TEXT NOT NULL,
    description  TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (carrier, code)
) /*sqlite:WITHOUT ROWID*/;

INSERT INTO carrier_codes (carrier, code, status, description, updated_at) VALUES
    ('sandbox', 'LBL', 'label_created', 'Shipment information received', 0),
    ('sandbox', 'PKP', 'picked_up', 'Picked up', 0),
    ('sandbox', 'DEP', 'in_transit', 'Departed origin facility', 0),
    ('sandbox', 'ARR-CUS', 'customs_processing', 'Arrived at destination customs', 0),
    ('sandbox', 'CUS-HLD-DOC', 'customs_held:documentation', 'Held by customs: documents required', 0),
    ('sandbox', 'CUS-HLD-DTY', 'customs_held:duties_unpaid', 'Held by customs: duties unpaid', 0),
    ('sandbox', 'CUS-HLD-INS', 'customs_held:inspection', 'Held by customs: inspection', 0),
    ('sandbox', 'CUS-REL', 'customs_released', 'Released by customs', 0),
    ('sandbox', 'ARR-HUB', 'in_transit', 'Arrived at delivery hub', 0),
    ('sandbox', 'OFD', 'out_for_delivery', 'Out for delivery', 0),
    ('sandbox', 'DLV', 'delivered', 'Delivered', 0),
    ('sandbox', 'COD', 'delivered', 'Cash on delivery collected', 0),
    ('sandbox', 'NDR-RF', 'delivery_failed:refused', 'Delivery failed: consignee refused', 0),
    ('sandbox', 'NDR-NH', 'delivery_failed:not_home', 'Delivery failed: consignee not available', 0),
    ('sandbox', 'RTS', 'returning', 'Returning to shipper', 0),
    ('sandbox', 'RTD', 'returned', 'Returned to shipper', 0),
    ('sandbox', 'LST', 'lost', 'Shipment lost in transit', 0),
    ('sandbox', 'CAN', 'cancelled', 'Shipment cancelled', 0);

CREATE TABLE tracking (
    shipment_id      TEXT PRIMARY KEY REFERENCES shipments (id),
    order_id         TEXT NOT NULL REFERENCES orders (id),
    tracking_number  TEXT NOT NULL,
    carrier          TEXT NOT NULL,
    lane_country     TEXT NOT NULL,
    lane_channel     TEXT NOT NULL,
    booked_at        BIGINT NOT NULL,
    status           TEXT NOT NULL,
    status_at        BIGINT NOT NULL,
    last_scan_at     BIGINT,
    picked_up_at     BIGINT,
    delivered_at     BIGINT,
    failed_attempts  BIGINT NOT NULL,
    cod_minor        BIGINT NOT NULL,
    cod_currency     TEXT NOT NULL,
    cod_status       TEXT NOT NULL,
    -- The anomalies that fired and still hold (comma-separated kinds), so each opens one task per episode.
    fired            TEXT NOT NULL,
    -- The next anomaly deadline; NULL when nothing can fire before another event arrives.
    due_at           BIGINT,
    -- The next poll; NULL when the shipment is not polled (final, too old, or its carrier pushes).
    poll_at          BIGINT,
    poll_errors      BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX tracking_by_number ON tracking (tracking_number);
CREATE INDEX tracking_due ON tracking (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX tracking_poll ON tracking (poll_at) WHERE poll_at IS NOT NULL;

-- Shipments booked before tracking existed start from their booking.
INSERT INTO tracking (shipment_id, order_id, tracking_number, carrier, lane_country, lane_channel, booked_at, status,
    status_at, failed_attempts, cod_minor, cod_currency, cod_status, fired, due_at, poll_errors, updated_at)
SELECT s.id, s.order_id, s.tracking_number, s.carrier, o.ship_country, s.channel, COALESCE(s.booked_at, s.updated_at),
    'label_created', COALESCE(s.booked_at, s.updated_at), 0, s.cod_minor, s.cod_currency,
    CASE WHEN s.cod_minor > 0 THEN 'pending' ELSE 'not_applicable' END, '', COALESCE(s.booked_at, s.updated_at), 0,
    s.updated_at
FROM shipments s JOIN orders o ON o.id = s.order_id
WHERE s.status = 'booked' AND s.tracking_number IS NOT NULL;

-- One row per (shipment, event time, carrier code): a replayed event is the same row. Codes nobody has
-- mapped yet are kept with status 'unknown' and re-normalised when ops map them.
CREATE TABLE tracking_events (
    shipment_id  TEXT NOT NULL REFERENCES tracking (shipment_id),
    at           BIGINT NOT NULL,
    code         TEXT NOT NULL,
    carrier      TEXT NOT NULL,
    status       TEXT NOT NULL,
    description  TEXT NOT NULL,
    location     TEXT,
    source       TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (shipment_id, at, code)
) /*sqlite:WITHOUT ROWID*/;
CREATE INDEX tracking_events_unmapped ON tracking_events (carrier, code) WHERE status = 'unknown';

CREATE TABLE tasks (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    shipment_id  TEXT REFERENCES shipments (id),
    order_id     TEXT REFERENCES orders (id),
    role         TEXT NOT NULL,
    status       TEXT NOT NULL,
    title        TEXT NOT NULL,
    due_at       BIGINT NOT NULL,
    assignee     TEXT,
    opened_by    TEXT NOT NULL,
    resolution   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    closed_at    BIGINT
);
-- An anomaly opens one task per shipment at a time, however many nodes notice it.
CREATE UNIQUE INDEX tasks_one_open ON tasks (shipment_id, kind) WHERE status <> 'done';
CREATE INDEX tasks_queue ON tasks (status, role, due_at);
CREATE INDEX tasks_by_order ON tasks (order_id);

CREATE TABLE task_notes (
    task_id  TEXT NOT NULL REFERENCES tasks (id),
    id       TEXT NOT NULL,
    author   TEXT NOT NULL,
    body     TEXT NOT NULL,
    at       BIGINT NOT NULL,
    PRIMARY KEY (task_id, id)
) /*sqlite:WITHOUT ROWID*/;

-- A buyer's answer to one failed delivery attempt, and what the carrier said to the instruction.
CREATE TABLE ndr_requests (
    shipment_id  TEXT NOT NULL REFERENCES shipments (id),
    attempt      BIGINT NOT NULL,
    action       TEXT NOT NULL,
    details      TEXT NOT NULL,
    status       TEXT NOT NULL,
    error        TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (shipment_id, attempt)
) /*sqlite:WITHOUT ROWID*/;

-- Buyer messages about shipments can repeat per event (a second failed delivery gets its own message), so
-- the outbox key gains the event.
CREATE TABLE notifications_v2 (
    id               TEXT PRIMARY KEY,
    order_id         TEXT NOT NULL REFERENCES orders (id),
    template         TEXT NOT NULL,
    channel          TEXT NOT NULL,
    event_key        TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    language         TEXT NOT NULL,
    subject          TEXT,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT,
    UNIQUE (order_id, template, channel, event_key)
);
INSERT INTO notifications_v2 (id, order_id, template, channel, event_key, recipient, language, subject, body, status,
    attempts, next_attempt_at, last_error, created_at, sent_at)
SELECT id, order_id, template, channel, '', recipient, language, subject, body, status, attempts, next_attempt_at,
    last_error, created_at, sent_at FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_v2 RENAME TO notifications;
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);

-- Opt-outs from shipment messages, by phone or email.
INSERT INTO lists (name, kind, description, builtin, created_at) VALUES
    ('notify_opt_out', 'phone', 'Buyers who asked for no shipment messages (SMS or email)', 1, 0);
