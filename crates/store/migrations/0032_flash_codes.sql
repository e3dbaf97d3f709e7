-- Flash Express's route actions. RECEIVED, ARRIVAL_WAREHOUSE_SCAN, DELIVERY_TICKET_CREATION_SCAN, DELIVERY_CONFIRM
-- and CANCEL_PARCEL are Flash's own; the rest are the actions its local protocol server sends, in Flash's style.
INSERT INTO carrier_codes (carrier, code, status, description, updated_at) VALUES
    ('flash', 'CREATED', 'label_created', 'Order created', 0),
    ('flash', 'RECEIVED', 'picked_up', 'Received by Flash', 0),
    ('flash', 'DEPARTURE_GOODS_VAN_CK_SCAN', 'in_transit', 'Departed on the line-haul van', 0),
    ('flash', 'CONTINUE_TRANSPORT', 'in_transit', 'In transit', 0),
    ('flash', 'CUSTOMS_ARRIVAL', 'customs_processing', 'Arrived at customs', 0),
    ('flash', 'CUSTOMS_DETAIN', 'customs_held:inspection', 'Held by customs', 0),
    ('flash', 'CUSTOMS_RELEASE', 'customs_released', 'Released by customs', 0),
    ('flash', 'ARRIVAL_WAREHOUSE_SCAN', 'in_transit', 'Arrived at the delivery branch', 0),
    ('flash', 'DELIVERY_TICKET_CREATION_SCAN', 'out_for_delivery', 'Out for delivery', 0),
    ('flash', 'DELIVERY_CONFIRM', 'delivered', 'Delivered', 0),
    ('flash', 'DIFFICULTY_HANDOVER_REFUSED', 'delivery_failed:refused', 'Refused by the recipient', 0),
    ('flash', 'DIFFICULTY_HANDOVER_NOT_HOME', 'delivery_failed:not_home', 'Recipient not available', 0),
    ('flash', 'RETURN_TO_SENDER', 'returning', 'Returning to the sender', 0),
    ('flash', 'RETURN_CONFIRM', 'returned', 'Returned to the sender', 0),
    ('flash', 'PARCEL_LOST', 'lost', 'Lost', 0),
    ('flash', 'CANCEL_PARCEL', 'cancelled', 'Cancelled', 0);
