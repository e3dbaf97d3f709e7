-- The per-order distribution of expected profit: one counter per bucket (see codflow_domain::kpi::PROFIT_BOUNDS),
-- summed like every other counter. Every order is recounted once to fill them.
ALTER TABLE kpi_daily ADD COLUMN profit_b0 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kpi_daily ADD COLUMN profit_b1 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kpi_daily ADD COLUMN profit_b2 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kpi_daily ADD COLUMN profit_b3 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kpi_daily ADD COLUMN profit_b4 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kpi_daily ADD COLUMN profit_b5 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kpi_daily ADD COLUMN profit_b6 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kpi_daily ADD COLUMN profit_b7 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kpi_sku_daily ADD COLUMN profit_b0 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kpi_sku_daily ADD COLUMN profit_b1 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kpi_sku_daily ADD COLUMN profit_b2 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kpi_sku_daily ADD COLUMN profit_b3 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kpi_sku_daily ADD COLUMN profit_b4 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kpi_sku_daily ADD COLUMN profit_b5 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kpi_sku_daily ADD COLUMN profit_b6 BIGINT NOT NULL DEFAULT 0;
ALTER TABLE kpi_sku_daily ADD COLUMN profit_b7 BIGINT NOT NULL DEFAULT 0;
INSERT INTO kpi_dirty (order_id) SELECT id FROM orders WHERE id NOT IN (SELECT order_id FROM kpi_dirty);
