-- The console lists orders by status and destination together, and by total. Without an index for the pair,
-- a status that matches few orders in a common destination walked the destination's whole index (seconds at a
-- million orders); without one for the total, a list sorted by it sorted every order.
CREATE INDEX orders_by_status_country ON orders (status, ship_country, id);
CREATE INDEX orders_by_total ON orders (total_minor, id);
