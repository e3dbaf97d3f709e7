-- Dashboards read sums kept with the data. A trigger marks an order dirty in the same transaction as any
-- change to it, its parcel, its outcome or its tasks; the refresher recomputes each dirty order's fact and
-- moves the sums by the difference from its last one. Triggers are the one place the two engines' SQL
-- differs (PostgreSQL needs a function); the sections below are picked by engine when migrating.

CREATE TABLE kpi_dirty (
    order_id  TEXT PRIMARY KEY
) /*sqlite:WITHOUT ROWID*/;

-- Each order's last fact, so the next change knows what to take back out of the sums, and so a chart's
-- orders can be listed by the same dimensions.
CREATE TABLE kpi_facts (
    order_id   TEXT PRIMARY KEY,
    day        BIGINT NOT NULL,
    store      TEXT NOT NULL,
    country    TEXT NOT NULL,
    region     TEXT NOT NULL,
    channel    TEXT NOT NULL,
    carrier    TEXT NOT NULL,
    -- One bit per figure in `FLAGS` (store/kpi.rs) that counts this order.
    flags      BIGINT NOT NULL,
    fact       TEXT NOT NULL
);
-- The orders behind a figure are listed newest first within a region (the narrowest dimension a chart
-- usually names), so a page reads about as many rows as it shows.
CREATE INDEX kpi_facts_by_region ON kpi_facts (country, region, order_id);

CREATE TABLE kpi_daily (
    day              BIGINT NOT NULL,
    store            TEXT NOT NULL,
    country          TEXT NOT NULL,
    region           TEXT NOT NULL,
    channel          TEXT NOT NULL,
    carrier          TEXT NOT NULL,
    orders           BIGINT NOT NULL,
    cod_orders       BIGINT NOT NULL,
    shipped          BIGINT NOT NULL,
    delivered        BIGINT NOT NULL,
    refused          BIGINT NOT NULL,
    returned         BIGINT NOT NULL,
    lost             BIGINT NOT NULL,
    customs_held     BIGINT NOT NULL,
    customs_delayed  BIGINT NOT NULL,
    cleared          BIGINT NOT NULL,
    clearance_h      BIGINT NOT NULL,
    transit_n        BIGINT NOT NULL,
    transit_h        BIGINT NOT NULL,
    cost_minor       BIGINT NOT NULL,
    profit_minor     BIGINT NOT NULL,
    tasks_closed     BIGINT NOT NULL,
    task_h           BIGINT NOT NULL,
    loss_orders      BIGINT NOT NULL,
    PRIMARY KEY (day, store, country, region, channel, carrier)
) /*sqlite:WITHOUT ROWID*/;

CREATE TABLE kpi_sku_daily (
    day              BIGINT NOT NULL,
    store            TEXT NOT NULL,
    country          TEXT NOT NULL,
    region           TEXT NOT NULL,
    channel          TEXT NOT NULL,
    carrier          TEXT NOT NULL,
    sku              TEXT NOT NULL,
    orders           BIGINT NOT NULL,
    cod_orders       BIGINT NOT NULL,
    shipped          BIGINT NOT NULL,
    delivered        BIGINT NOT NULL,
    refused          BIGINT NOT NULL,
    returned         BIGINT NOT NULL,
    lost             BIGINT NOT NULL,
    customs_held     BIGINT NOT NULL,
    customs_delayed  BIGINT NOT NULL,
    cleared          BIGINT NOT NULL,
    clearance_h      BIGINT NOT NULL,
    transit_n        BIGINT NOT NULL,
    transit_h        BIGINT NOT NULL,
    cost_minor       BIGINT NOT NULL,
    profit_minor     BIGINT NOT NULL,
    tasks_closed     BIGINT NOT NULL,
    task_h           BIGINT NOT NULL,
    loss_orders      BIGINT NOT NULL,
    PRIMARY KEY (day, store, country, region, channel, carrier, sku)
) /*sqlite:WITHOUT ROWID*/;

-- Parcels per hour of customs clearance, so a median is a walk over a short histogram.
CREATE TABLE kpi_clearance (
    day      BIGINT NOT NULL,
    store    TEXT NOT NULL,
    country  TEXT NOT NULL,
    channel  TEXT NOT NULL,
    hours    BIGINT NOT NULL,
    parcels  BIGINT NOT NULL,
    PRIMARY KEY (day, store, country, channel, hours)
) /*sqlite:WITHOUT ROWID*/;

CREATE INDEX tracking_by_order ON tracking (order_id);

-- The cash dashboard reads delivered COD not yet remitted and COD still travelling: small slices of a large
-- book, each kept in a partial index that holds exactly the columns it sums.
CREATE INDEX tracking_receivable ON tracking (carrier, cod_currency, lane_channel, delivered_at, cod_minor)
    WHERE cod_status IN ('expected', 'collected') AND delivered_at IS NOT NULL AND cod_minor > 0;
CREATE INDEX tracking_cod_in_transit ON tracking (cod_currency, lane_channel, lane_country, booked_at, cod_minor, status)
    WHERE cod_minor > 0 AND delivered_at IS NULL AND cod_status = 'pending';

-- Every order there already is starts dirty.
INSERT INTO kpi_dirty (order_id) SELECT id FROM orders;

-- sqlite:begin
CREATE TRIGGER kpi_order_new AFTER INSERT ON orders BEGIN
    INSERT OR IGNORE INTO kpi_dirty (order_id) VALUES (NEW.id);
END;
CREATE TRIGGER kpi_order_changed AFTER UPDATE OF status, channel, allocation ON orders BEGIN
    INSERT OR IGNORE INTO kpi_dirty (order_id) VALUES (NEW.id);
END;
CREATE TRIGGER kpi_parcel_new AFTER INSERT ON tracking BEGIN
    INSERT OR IGNORE INTO kpi_dirty (order_id) VALUES (NEW.order_id);
END;
CREATE TRIGGER kpi_parcel_changed AFTER UPDATE OF status, delivered_at, picked_up_at ON tracking BEGIN
    INSERT OR IGNORE INTO kpi_dirty (order_id) VALUES (NEW.order_id);
END;
CREATE TRIGGER kpi_outcome_new AFTER INSERT ON order_outcomes BEGIN
    INSERT OR IGNORE INTO kpi_dirty (order_id) VALUES (NEW.order_id);
END;
CREATE TRIGGER kpi_outcome_changed AFTER UPDATE ON order_outcomes BEGIN
    INSERT OR IGNORE INTO kpi_dirty (order_id) VALUES (NEW.order_id);
END;
CREATE TRIGGER kpi_task_new AFTER INSERT ON tasks WHEN NEW.order_id IS NOT NULL BEGIN
    INSERT OR IGNORE INTO kpi_dirty (order_id) VALUES (NEW.order_id);
END;
CREATE TRIGGER kpi_task_changed AFTER UPDATE OF status ON tasks WHEN NEW.order_id IS NOT NULL BEGIN
    INSERT OR IGNORE INTO kpi_dirty (order_id) VALUES (NEW.order_id);
END;
-- sqlite:end

-- postgres:begin
CREATE FUNCTION kpi_mark_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kpi_dirty (order_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE FUNCTION kpi_mark_order_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.order_id IS NOT NULL THEN
        INSERT INTO kpi_dirty (order_id) VALUES (NEW.order_id) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER kpi_order_new AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION kpi_mark_order();
CREATE TRIGGER kpi_order_changed AFTER UPDATE OF status, channel, allocation ON orders
    FOR EACH ROW EXECUTE FUNCTION kpi_mark_order();
CREATE TRIGGER kpi_parcel_new AFTER INSERT ON tracking FOR EACH ROW EXECUTE FUNCTION kpi_mark_order_id();
CREATE TRIGGER kpi_parcel_changed AFTER UPDATE OF status, delivered_at, picked_up_at ON tracking
    FOR EACH ROW EXECUTE FUNCTION kpi_mark_order_id();
CREATE TRIGGER kpi_outcome_changed AFTER INSERT OR UPDATE ON order_outcomes
    FOR EACH ROW EXECUTE FUNCTION kpi_mark_order_id();
CREATE TRIGGER kpi_task_changed AFTER INSERT OR UPDATE OF status ON tasks
    FOR EACH ROW EXECUTE FUNCTION kpi_mark_order_id();
-- postgres:end
