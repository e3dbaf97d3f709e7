-- The ledger as posted from its sources. A delivered COD parcel posts its receivable against sales; a
-- remittance line that paid a parcel posts the cash in transit and the carrier's deductions against the
-- receivable (the same legs as the domain's `Entry::delivered` and `Entry::remitted`). Writing those legs
-- as rows would copy every statement line five times; they are read from the facts instead, so they can
-- never disagree with them. Entries with no other record (payouts, write-offs) are stored rows.
DROP INDEX statement_lines_reference;

CREATE VIEW ledger AS
SELECT 'dlv:' || shipment_id AS entry_key, 0 AS leg, 'delivered' AS kind, shipment_id, NULL AS statement_id,
       carrier, 'carrier_receivable' AS account, cod_currency AS currency, cod_minor AS amount_minor,
       delivered_at AS posted_at
  FROM tracking
 WHERE cod_minor > 0 AND delivered_at IS NOT NULL
   AND cod_status IN ('expected', 'collected', 'remitted', 'paid_out', 'short_paid', 'disputed', 'written_off')
UNION ALL
SELECT 'dlv:' || shipment_id, 1, 'delivered', shipment_id, NULL, carrier, 'cod_sales', cod_currency, -cod_minor,
       delivered_at
  FROM tracking
 WHERE cod_minor > 0 AND delivered_at IS NOT NULL
   AND cod_status IN ('expected', 'collected', 'remitted', 'paid_out', 'short_paid', 'disputed', 'written_off')
UNION ALL
SELECT 'rem:' || l.statement_id || ':' || CAST(l.line AS TEXT), 0, 'remitted', l.shipment_id, l.statement_id,
       s.carrier, 'cash_in_transit', l.currency, l.net_minor, s.imported_at
  FROM statement_lines l JOIN statements s ON s.id = l.statement_id
 WHERE s.kind = 'cod_remittance' AND l.class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract')
   AND l.net_minor <> 0
UNION ALL
SELECT 'rem:' || l.statement_id || ':' || CAST(l.line AS TEXT), 1, 'remitted', l.shipment_id, l.statement_id,
       s.carrier, 'cod_fees', l.currency, l.fee_minor, s.imported_at
  FROM statement_lines l JOIN statements s ON s.id = l.statement_id
 WHERE s.kind = 'cod_remittance' AND l.class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract')
   AND l.fee_minor <> 0
UNION ALL
SELECT 'rem:' || l.statement_id || ':' || CAST(l.line AS TEXT), 2, 'remitted', l.shipment_id, l.statement_id,
       s.carrier, 'freight_deducted', l.currency, l.freight_minor, s.imported_at
  FROM statement_lines l JOIN statements s ON s.id = l.statement_id
 WHERE s.kind = 'cod_remittance' AND l.class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract')
   AND l.freight_minor <> 0
UNION ALL
SELECT 'rem:' || l.statement_id || ':' || CAST(l.line AS TEXT), 3, 'remitted', l.shipment_id, l.statement_id,
       s.carrier, 'other_deductions', l.currency, l.other_minor, s.imported_at
  FROM statement_lines l JOIN statements s ON s.id = l.statement_id
 WHERE s.kind = 'cod_remittance' AND l.class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract')
   AND l.other_minor <> 0
UNION ALL
SELECT 'rem:' || l.statement_id || ':' || CAST(l.line AS TEXT), 4, 'remitted', l.shipment_id, l.statement_id,
       s.carrier, 'carrier_receivable', l.currency, -l.amount_minor, s.imported_at
  FROM statement_lines l JOIN statements s ON s.id = l.statement_id
 WHERE s.kind = 'cod_remittance' AND l.class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract')
   AND l.amount_minor <> 0
UNION ALL
SELECT entry_key, leg, kind, shipment_id, statement_id, carrier, account, currency, amount_minor, posted_at
  FROM ledger_postings;
