-- What mapping a delivery decided (duties folded into the fee, a discount's leftover cents, the shop's order name).
ALTER TABLE channel_inbox ADD COLUMN notes TEXT;
