-- Review: rules and their versions, named lists, known outcomes and the counts risk reads, settings, FX rates,
-- buyer-notification templates and the outbox.

-- Buyer history (orders by phone, the last day's orders) is read for every order reviewed.
CREATE INDEX orders_by_phone ON orders (buyer_phone, placed_at);

CREATE TABLE rules (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    priority    BIGINT NOT NULL,
    enabled     BIGINT NOT NULL,
    condition   TEXT NOT NULL,
    action      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    notify      TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Every change to the rules writes the whole ruleset as it now stands, so any order's decision can be traced
-- to the exact rules that made it, and a version can be back-tested or restored.
CREATE TABLE ruleset_versions (
    version     BIGINT PRIMARY KEY,
    created_at  BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    change      TEXT NOT NULL,
    rules       TEXT NOT NULL
);
INSERT INTO ruleset_versions (version, created_at, actor, change, rules) VALUES (0, 0, 'system', 'no rules yet', '[]');

CREATE TABLE lists (
    name         TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    description  TEXT NOT NULL,
    builtin      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
INSERT INTO lists (name, kind, description, builtin, created_at) VALUES
    ('blacklisted_phones', 'phone', 'Buyers whose orders are refused outright', 1, 0),
    ('blacklisted_regions', 'region', 'Regions never shipped to (country:region)', 1, 0),
    ('blacklisted_postcodes', 'postcode', 'Postcodes never shipped to (country:postcode)', 1, 0),
    ('cod_unsupported_regions', 'region', 'Regions where no courier collects cash (country:region)', 1, 0);

CREATE TABLE list_entries (
    list_name   TEXT NOT NULL REFERENCES lists (name),
    value       TEXT NOT NULL,
    note        TEXT,
    actor       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (list_name, value)
) /*sqlite:WITHOUT ROWID*/;

-- `review_generation` is bumped whenever lists, FX rates or the base currency change, so every worker knows when
-- to reload its in-memory copy.
CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
INSERT INTO settings (key, value, updated_at) VALUES ('review_generation', '0', 0), ('base_currency', 'USD', 0);

-- What became of an order: delivered, or refused/returned. The tracking issue feeds it from shipments;
-- until then integrators post outcomes they learn from their couriers.
CREATE TABLE order_outcomes (
    order_id     TEXT PRIMARY KEY REFERENCES orders (id),
    outcome      TEXT NOT NULL,
    at           BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    recorded_at  BIGINT NOT NULL
);

CREATE TABLE outcome_counts (
    key        TEXT PRIMARY KEY,
    delivered  BIGINT NOT NULL,
    refused    BIGINT NOT NULL
) /*sqlite:WITHOUT ROWID*/;

CREATE TABLE fx_rates (
    from_currency  TEXT NOT NULL,
    to_currency    TEXT NOT NULL,
    as_of          TEXT NOT NULL,
    rate           TEXT NOT NULL,
    source         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (from_currency, to_currency, as_of)
);

-- Seller edits of the built-in templates, and their own; the built-ins live in the code.
CREATE TABLE notification_templates (
    name        TEXT NOT NULL,
    language    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    sms         TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (name, language)
);

-- The outbox: written in the transaction that decides, sent afterwards by the dispatcher. One message per
-- (order, template, channel) whatever happens to the decision afterwards.
CREATE TABLE notifications (
    id               TEXT PRIMARY KEY,
    order_id         TEXT NOT NULL REFERENCES orders (id),
    template         TEXT NOT NULL,
    channel          TEXT NOT NULL,
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
    UNIQUE (order_id, template, channel)
);
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
