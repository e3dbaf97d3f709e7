-- Documents: the bin each SKU sits in per warehouse, which picking lists walk in order.

ALTER TABLE stock ADD COLUMN location TEXT;
