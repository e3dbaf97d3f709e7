-- Shared by SQLite and PostgreSQL: only types and syntax both accept. Times are UTC microseconds since the
-- Unix epoch (BIGINT), money is BIGINT minor units beside its currency code.
-- The one engine-specific part: the migrator turns the comment /*sqlite:WITHOUT ROWID*/ into that clause on
-- SQLite, where small high-volume rows then cost one b-tree insert instead of two; elsewhere it stays a comment.

CREATE TABLE warehouses (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    country     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE products (
    id                  TEXT PRIMARY KEY,
    sku                 TEXT NOT NULL UNIQUE,
    title               TEXT NOT NULL,
    unit_weight_g       BIGINT NOT NULL,
    unit_cost_minor     BIGINT NOT NULL,
    unit_cost_currency  TEXT NOT NULL,
    hs_code             TEXT,
    origin_country      TEXT,
    category            TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

-- The last line of defence against overselling: the database itself refuses reserved > on_hand.
CREATE TABLE stock (
    warehouse_id  TEXT NOT NULL REFERENCES warehouses (id),
    product_id    TEXT NOT NULL REFERENCES products (id),
    on_hand       BIGINT NOT NULL CHECK (on_hand >= 0),
    reserved      BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (warehouse_id, product_id),
    CHECK (reserved <= on_hand)
);
CREATE INDEX stock_by_product ON stock (product_id);

CREATE TABLE orders (
    id                  TEXT PRIMARY KEY,
    store               TEXT NOT NULL,
    external_id         TEXT NOT NULL,
    status              TEXT NOT NULL,
    placed_at           BIGINT NOT NULL,
    currency            TEXT NOT NULL,
    payment_method      TEXT NOT NULL,
    buyer_name          TEXT NOT NULL,
    buyer_phone         TEXT NOT NULL,
    buyer_email         TEXT,
    ship_name           TEXT NOT NULL,
    ship_phone          TEXT,
    ship_line1          TEXT NOT NULL,
    ship_line2          TEXT,
    ship_city           TEXT NOT NULL,
    ship_region         TEXT,
    ship_postal_code    TEXT,
    ship_country        TEXT NOT NULL,
    shipping_fee_minor  BIGINT NOT NULL,
    total_minor         BIGINT NOT NULL,
    cod_amount_minor    BIGINT NOT NULL,
    review              TEXT,
    warehouse_id        TEXT REFERENCES warehouses (id),
    channel             TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    UNIQUE (store, external_id)
) /*sqlite:WITHOUT ROWID*/;
CREATE INDEX orders_by_status ON orders (status, id);
CREATE INDEX orders_by_country ON orders (ship_country, id);

CREATE TABLE order_lines (
    order_id          TEXT NOT NULL REFERENCES orders (id),
    line_no           BIGINT NOT NULL,
    product_id        TEXT NOT NULL REFERENCES products (id),
    sku               TEXT NOT NULL,
    quantity          BIGINT NOT NULL CHECK (quantity > 0),
    unit_price_minor  BIGINT NOT NULL CHECK (unit_price_minor >= 0),
    PRIMARY KEY (order_id, line_no)
) /*sqlite:WITHOUT ROWID*/;

-- Exactly what each order holds, so releasing gives back what was taken and nothing else.
CREATE TABLE reservations (
    order_id      TEXT NOT NULL REFERENCES orders (id),
    warehouse_id  TEXT NOT NULL REFERENCES warehouses (id),
    product_id    TEXT NOT NULL REFERENCES products (id),
    quantity      BIGINT NOT NULL CHECK (quantity > 0),
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (order_id, product_id)
) /*sqlite:WITHOUT ROWID*/;

-- Keyed by what it is about, so an entity's history is one range scan and no second index is kept up to
-- date on every write (intake writes three records per order).
CREATE TABLE audit_log (
    entity       TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    action       TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT,
    actor        TEXT NOT NULL,
    reason       TEXT,
    at           BIGINT NOT NULL,
    PRIMARY KEY (entity, entity_id, id)
) /*sqlite:WITHOUT ROWID*/;

CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
