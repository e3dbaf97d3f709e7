-- Orders' money (landed cost, expected profit) is now split over their SKUs by line value. Every order is
-- recounted once so the per-SKU sums gain it; the refresher works through them in the background.
INSERT INTO kpi_dirty (order_id) SELECT id FROM orders WHERE id NOT IN (SELECT order_id FROM kpi_dirty);
