-- COD finance: how to read settlement files, the statements read, their lines as matched, and the ledger.

-- A profile is kept as the JSON of the domain's `Profile`; built-in ones are refreshed by the application.
CREATE TABLE settlement_profiles (
    name        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    config      TEXT NOT NULL,
    builtin     BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- A statement is imported once: its content hash is unique.
CREATE TABLE statements (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    profile       TEXT NOT NULL,
    carrier       TEXT,
    file_name     TEXT NOT NULL,
    content_hash  TEXT NOT NULL UNIQUE,
    lines         BIGINT NOT NULL,
    errors        BIGINT NOT NULL,
    as_of         BIGINT NOT NULL,
    imported_at   BIGINT NOT NULL,
    imported_by   TEXT NOT NULL
);

-- One row per line read, unique per (statement, line), with the verdict of the match.
CREATE TABLE statement_lines (
    statement_id        TEXT NOT NULL REFERENCES statements (id),
    line                BIGINT NOT NULL,
    tracking_number     TEXT,
    order_ref           TEXT,
    reference           TEXT,
    line_date           TEXT,
    currency            TEXT NOT NULL,
    amount_minor        BIGINT NOT NULL,
    fee_minor           BIGINT NOT NULL,
    freight_minor       BIGINT NOT NULL,
    other_minor         BIGINT NOT NULL,
    net_minor           BIGINT NOT NULL,
    fx_rate             TEXT,
    settled_minor       BIGINT,
    settled_currency    TEXT,
    class               TEXT NOT NULL,
    shipment_id         TEXT,
    expected_minor      BIGINT,
    difference_minor    BIGINT,
    contract_fee_minor  BIGINT,
    PRIMARY KEY (statement_id, line)
);
CREATE INDEX statement_lines_shipment ON statement_lines (shipment_id);
CREATE INDEX statement_lines_reference ON statement_lines (reference);

-- Lines that could not be read, kept with the statement so nothing in the file is silently dropped.
CREATE TABLE statement_errors (
    statement_id  TEXT NOT NULL REFERENCES statements (id),
    line          BIGINT NOT NULL,
    field         TEXT NOT NULL,
    message       TEXT NOT NULL,
    PRIMARY KEY (statement_id, line)
);

-- Shipments a statement should have paid for and did not, past their cycle.
CREATE TABLE statement_missing (
    statement_id    TEXT NOT NULL REFERENCES statements (id),
    shipment_id     TEXT NOT NULL,
    currency        TEXT NOT NULL,
    expected_minor  BIGINT NOT NULL,
    due_on          TEXT NOT NULL,
    PRIMARY KEY (statement_id, shipment_id)
);

-- The ledger: one row per leg, debit positive. An entry's key names its source (a delivery, a statement
-- line), so replaying the source posts nothing twice.
CREATE TABLE ledger_postings (
    entry_key     TEXT NOT NULL,
    leg           BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    shipment_id   TEXT,
    statement_id  TEXT,
    carrier       TEXT,
    account       TEXT NOT NULL,
    currency      TEXT NOT NULL,
    amount_minor  BIGINT NOT NULL,
    posted_at     BIGINT NOT NULL,
    PRIMARY KEY (entry_key, leg)
);
CREATE INDEX ledger_postings_shipment ON ledger_postings (shipment_id);
CREATE INDEX ledger_postings_account ON ledger_postings (account, carrier, currency);
