-- J&T Express's scan types (its open platform's scan node codes): 10 pick up, 20 departure, 30 arrival, 94 out for
-- delivery, 100 delivery signature, 110 problematic, 172 return, 173 return delivery signature, 200 collected, and the
-- terminal 300-306. Codes 1, 2, 31 and 32 are the ones its local protocol server sends for what J&T's list leaves out
-- (order created, cancelled, customs arrival and release).
INSERT INTO carrier_codes (carrier, code, status, description, updated_at) VALUES
    ('jnt', '1', 'label_created', 'Order created', 0),
    ('jnt', '2', 'cancelled', 'Order cancelled', 0),
    ('jnt', '10', 'picked_up', 'Picked up', 0),
    ('jnt', '20', 'in_transit', 'Departed', 0),
    ('jnt', '30', 'in_transit', 'Arrived', 0),
    ('jnt', '31', 'customs_processing', 'Arrived at customs', 0),
    ('jnt', '32', 'customs_released', 'Released by customs', 0),
    ('jnt', '94', 'out_for_delivery', 'Out for delivery', 0),
    ('jnt', '100', 'delivered', 'Delivered (signed)', 0),
    ('jnt', '110', 'delivery_failed:not_home', 'Problematic parcel: recipient not reached', 0),
    ('jnt', '172', 'returning', 'Returning to the sender', 0),
    ('jnt', '173', 'returned', 'Returned to the sender (signed)', 0),
    ('jnt', '200', 'delivered', 'Collected', 0),
    ('jnt', '300', 'damaged', 'Damaged', 0),
    ('jnt', '301', 'lost', 'Lost', 0),
    ('jnt', '302', 'lost', 'Disposed', 0),
    ('jnt', '303', 'delivery_failed:refused', 'Rejected by the recipient', 0),
    ('jnt', '304', 'customs_held:inspection', 'Held by customs', 0),
    ('jnt', '305', 'unknown', 'Expired', 0),
    ('jnt', '306', 'lost', 'Cross-border disposal', 0);
