-- Aramex's update codes (TrackShipments' UpdateCode). SH014 (record created) and SH005 (delivered) are from
-- Aramex's published samples; Aramex publishes no full list, so the SH9xx codes are its local protocol server's,
-- numbered apart so that none is mistaken for Aramex's. Aramex's other codes surface as unmapped until mapped.
INSERT INTO carrier_codes (carrier, code, status, description, updated_at) VALUES
    ('aramex', 'SH014', 'label_created', 'Record created.', 0),
    ('aramex', 'SH005', 'delivered', 'Delivered', 0),
    ('aramex', 'SH900', 'in_transit', 'In transit', 0),
    ('aramex', 'SH901', 'picked_up', 'Picked up from shipper', 0),
    ('aramex', 'SH902', 'in_transit', 'Departed origin facility', 0),
    ('aramex', 'SH903', 'customs_processing', 'Arrived in destination country, customs clearance', 0),
    ('aramex', 'SH904', 'customs_held:documentation', 'Held by customs: documents required', 0),
    ('aramex', 'SH905', 'customs_held:duties_unpaid', 'Held by customs: duties unpaid', 0),
    ('aramex', 'SH906', 'customs_held:inspection', 'Held by customs: inspection', 0),
    ('aramex', 'SH907', 'customs_released', 'Released by customs', 0),
    ('aramex', 'SH908', 'in_transit', 'Arrived at delivery facility', 0),
    ('aramex', 'SH909', 'out_for_delivery', 'Out for delivery', 0),
    ('aramex', 'SH910', 'delivered', 'Cash collected from consignee', 0),
    ('aramex', 'SH911', 'delivery_failed:refused', 'Refused by consignee', 0),
    ('aramex', 'SH912', 'delivery_failed:not_home', 'Consignee not available', 0),
    ('aramex', 'SH913', 'returning', 'Returning to shipper', 0),
    ('aramex', 'SH914', 'returned', 'Returned to shipper', 0),
    ('aramex', 'SH915', 'lost', 'Shipment lost', 0),
    ('aramex', 'SH916', 'cancelled', 'Shipment cancelled', 0);
