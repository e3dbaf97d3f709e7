-- SMSA's scan types (`ScanType`; the full list is SMSA's `GET /api/track/statuslookup`). DL and OD are from SMSA's
-- published samples; the others are the codes its local protocol server lists, to be checked against a live look-up.
INSERT INTO carrier_codes (carrier, code, status, description, updated_at) VALUES
    ('smsa', 'DA', 'label_created', 'Data received', 0),
    ('smsa', 'PU', 'picked_up', 'Picked up', 0),
    ('smsa', 'DF', 'in_transit', 'Departed facility', 0),
    ('smsa', 'IT', 'in_transit', 'In transit', 0),
    ('smsa', 'CI', 'customs_processing', 'In customs clearance', 0),
    ('smsa', 'HD', 'customs_held:documentation', 'Held by customs: documents required', 0),
    ('smsa', 'HT', 'customs_held:duties_unpaid', 'Held by customs: duties unpaid', 0),
    ('smsa', 'HI', 'customs_held:inspection', 'Held by customs: inspection', 0),
    ('smsa', 'CR', 'customs_released', 'Released by customs', 0),
    ('smsa', 'AF', 'in_transit', 'Arrived at delivery facility', 0),
    ('smsa', 'OD', 'out_for_delivery', 'Out for Delivery', 0),
    ('smsa', 'DL', 'delivered', 'Delivered', 0),
    ('smsa', 'CP', 'delivered', 'Cash collected', 0),
    ('smsa', 'RF', 'delivery_failed:refused', 'Refused by consignee', 0),
    ('smsa', 'NA', 'delivery_failed:not_home', 'Consignee not available', 0),
    ('smsa', 'RT', 'returning', 'Returning to shipper', 0),
    ('smsa', 'RS', 'returned', 'Returned to shipper', 0),
    ('smsa', 'LS', 'lost', 'Lost', 0),
    ('smsa', 'CX', 'cancelled', 'Cancelled', 0);
