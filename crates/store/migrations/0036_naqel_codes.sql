-- Naqel Express's tracking event codes. 1 (picked up), 5 (out for delivery), 7 (delivered), 9 (returning) and 221
-- (returned) are the codes Naqel's public integrations read; the rest are the codes its local protocol server sends
-- (Naqel gives each client its code list), mapped here so they move parcels.
INSERT INTO carrier_codes (carrier, code, status, description, updated_at) VALUES
    ('naqel', '0', 'label_created', 'Waybill data uploaded', 0),
    ('naqel', '1', 'picked_up', 'Picked up', 0),
    ('naqel', '2', 'in_transit', 'Departed origin station', 0),
    ('naqel', '4', 'in_transit', 'Arrived at destination station', 0),
    ('naqel', '5', 'out_for_delivery', 'Out for delivery', 0),
    ('naqel', '7', 'delivered', 'Delivered', 0),
    ('naqel', '9', 'returning', 'Returning to the shipper', 0),
    ('naqel', '15', 'customs_processing', 'Arrived at customs', 0),
    ('naqel', '16', 'customs_held:inspection', 'Held by customs', 0),
    ('naqel', '17', 'customs_released', 'Released by customs', 0),
    ('naqel', '21', 'delivery_failed:refused', 'Consignee refused the shipment', 0),
    ('naqel', '22', 'delivery_failed:not_home', 'Consignee not available', 0),
    ('naqel', '31', 'lost', 'Shipment lost', 0),
    ('naqel', '99', 'cancelled', 'Waybill cancelled', 0),
    ('naqel', '221', 'returned', 'Returned to the shipper', 0);
