-- Packaging: each warehouse's boxes, and how each product packs (its size and handling).
CREATE TABLE boxes (
    warehouse       TEXT NOT NULL,
    code            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    length_mm       BIGINT NOT NULL,
    width_mm        BIGINT NOT NULL,
    height_mm       BIGINT NOT NULL,
    empty_weight_g  BIGINT NOT NULL,
    cost_minor      BIGINT NOT NULL,
    cost_currency   TEXT NOT NULL,
    max_load_g      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (warehouse, code)
);

CREATE TABLE product_packing (
    sku             TEXT PRIMARY KEY,
    length_mm       BIGINT NOT NULL,
    width_mm        BIGINT NOT NULL,
    height_mm       BIGINT NOT NULL,
    fragile         BIGINT NOT NULL,
    keep_upright    BIGINT NOT NULL,
    can_bag         BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
