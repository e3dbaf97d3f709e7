-- YunExpress's tracking details, by the codes its local protocol server sends (YunExpress's documents describe the
-- node texts; a detail without a code is kept under its text, unmapped until someone maps it).
INSERT INTO carrier_codes (carrier, code, status, description, updated_at) VALUES
    ('yunexpress', 'YT00', 'label_created', 'Order information received', 0),
    ('yunexpress', 'YT10', 'picked_up', 'Picked up by YunExpress', 0),
    ('yunexpress', 'YT20', 'in_transit', 'Departed from the origin hub', 0),
    ('yunexpress', 'YT25', 'in_transit', 'In transit', 0),
    ('yunexpress', 'YT30', 'customs_processing', 'Arrived at destination customs', 0),
    ('yunexpress', 'YT31', 'customs_held:documentation', 'Customs hold: documents required', 0),
    ('yunexpress', 'YT32', 'customs_held:duties_unpaid', 'Customs hold: duties unpaid', 0),
    ('yunexpress', 'YT33', 'customs_held:inspection', 'Customs hold: inspection', 0),
    ('yunexpress', 'YT35', 'customs_released', 'Customs cleared', 0),
    ('yunexpress', 'YT40', 'in_transit', 'Arrived at the last-mile hub', 0),
    ('yunexpress', 'YT50', 'out_for_delivery', 'Out for delivery', 0),
    ('yunexpress', 'YT60', 'delivered', 'Delivered', 0),
    ('yunexpress', 'YT71', 'delivery_failed:refused', 'Delivery failed: refused', 0),
    ('yunexpress', 'YT72', 'delivery_failed:not_home', 'Delivery failed: recipient not available', 0),
    ('yunexpress', 'YT80', 'returning', 'Returning to the shipper', 0),
    ('yunexpress', 'YT81', 'returned', 'Returned to the shipper', 0),
    ('yunexpress', 'YT90', 'lost', 'Lost', 0),
    ('yunexpress', 'YT99', 'cancelled', 'Order deleted', 0);
