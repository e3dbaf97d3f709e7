-- Yanwen's checkpoint statuses (its track API's tracking_status). PU10 (Yanwen acceptance) is Yanwen's; the rest
-- are the statuses its local protocol server sends (Yanwen's full list is not published), mapped so they move parcels.
INSERT INTO carrier_codes (carrier, code, status, description, updated_at) VALUES
    ('yanwen', 'OR10', 'label_created', 'Order received', 0),
    ('yanwen', 'PU10', 'picked_up', 'Yanwen acceptance', 0),
    ('yanwen', 'SC20', 'in_transit', 'In transit', 0),
    ('yanwen', 'CC10', 'customs_processing', 'Arrived at destination customs', 0),
    ('yanwen', 'CC20', 'customs_held:inspection', 'Held by customs', 0),
    ('yanwen', 'CC30', 'customs_released', 'Released by customs', 0),
    ('yanwen', 'LM10', 'in_transit', 'Arrived at the last-mile carrier', 0),
    ('yanwen', 'LM20', 'out_for_delivery', 'Out for delivery', 0),
    ('yanwen', 'LM40', 'delivered', 'Delivered', 0),
    ('yanwen', 'LM50', 'delivery_failed:refused', 'Refused by the recipient', 0),
    ('yanwen', 'LM51', 'delivery_failed:not_home', 'Recipient not available', 0),
    ('yanwen', 'RT10', 'returning', 'Returning to the sender', 0),
    ('yanwen', 'RT20', 'returned', 'Returned to the sender', 0),
    ('yanwen', 'EX10', 'lost', 'Lost', 0),
    ('yanwen', 'CA10', 'cancelled', 'Order cancelled', 0);
