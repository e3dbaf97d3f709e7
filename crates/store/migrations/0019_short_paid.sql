-- Parcels paid short stay owed for what was not paid (the ledger's receivable says so); aging reads them from
-- their rows, which this keeps cheap since few parcels are ever short-paid at once.
CREATE INDEX tracking_short_paid ON tracking (delivered_at) WHERE cod_status = 'short_paid';
