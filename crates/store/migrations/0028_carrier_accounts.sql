-- Carrier accounts as data: many per carrier (per warehouse, per lane), each with its endpoint and its
-- credentials sealed at rest (like shop secrets); a channel names the account it books through.
CREATE TABLE carrier_accounts (
    code            TEXT PRIMARY KEY,
    carrier         TEXT NOT NULL,
    name            TEXT NOT NULL,
    environment     TEXT NOT NULL,
    base_url        TEXT NOT NULL,
    credentials     TEXT,
    webhook_secret  TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX carrier_accounts_by_carrier ON carrier_accounts (carrier, code);

-- 4PX's event codes (businessLinkCode, dictionary "轨迹代码" at open.4px.com/v2/help/customdata) mapped by default.
-- FPX_I_HC* and FPX_D_FD* are families: the reason follows the prefix.
INSERT INTO carrier_codes (carrier, code, status, description, updated_at) VALUES
    ('4px', 'FPX_L_RPIF', 'label_created', 'Shipment information received', 0),
    ('4px', 'FPX_O_CRLB', 'label_created', 'Shipping label created', 0),
    ('4px', 'FPX_C_SPLS', 'picked_up', 'Picked up by 4PX', 0),
    ('4px', 'FPX_C_AAF', 'in_transit', 'Arrived at 4PX facility', 0),
    ('4px', 'FPX_C_ADFF', 'in_transit', 'Departed 4PX facility', 0),
    ('4px', 'FPX_M_ATA', 'customs_processing', 'Arrived at destination airport', 0),
    ('4px', 'FPX_M_IT', 'in_transit', 'In transit', 0),
    ('4px', 'FPX_I_HCDOC', 'customs_held:documentation', 'Held by customs: documents required', 0),
    ('4px', 'FPX_I_HCTAX', 'customs_held:duties_unpaid', 'Held by customs: duties unpaid', 0),
    ('4px', 'FPX_I_HCINS', 'customs_held:inspection', 'Held by customs: inspection', 0),
    ('4px', 'FPX_I_RC', 'customs_released', 'Released by customs', 0),
    ('4px', 'FPX_D_AAD', 'in_transit', 'Arrived at the delivery hub', 0),
    ('4px', 'FPX_D_SD', 'out_for_delivery', 'Out for delivery', 0),
    ('4px', 'FPX_S_OK', 'delivered', 'Delivered', 0),
    ('4px', 'FPX_D_FDRF', 'delivery_failed:refused', 'Delivery failed: refused', 0),
    ('4px', 'FPX_D_FDNH', 'delivery_failed:not_home', 'Delivery failed: consignee not available', 0),
    ('4px', 'FPX_O_RTR', 'returning', 'Returning to the shipper', 0),
    ('4px', 'FPX_O_RTOC', 'returned', 'Returned to the shipper', 0),
    ('4px', 'FPX_M_LOST', 'lost', 'Lost in transit', 0),
    ('4px', 'FPX_O_CNL', 'cancelled', 'Order cancelled', 0);
