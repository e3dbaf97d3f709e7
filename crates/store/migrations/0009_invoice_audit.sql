-- A freight invoice line's evidence beside its verdict (the amounts are on the statement line): the weight
-- declared, the weight and zone the booking was quoted at, and what the carrier billed.
CREATE TABLE invoice_checks (
    statement_id       TEXT NOT NULL REFERENCES statements (id),
    line               BIGINT NOT NULL,
    shipment_id        TEXT NOT NULL,
    declared_weight_g  BIGINT NOT NULL,
    quoted_weight_g    BIGINT,
    billed_weight_g    BIGINT,
    quoted_zone        TEXT,
    billed_zone        TEXT,
    PRIMARY KEY (statement_id, line)
);
CREATE INDEX invoice_checks_shipment ON invoice_checks (shipment_id);
