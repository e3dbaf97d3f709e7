-- A freight invoice is a payable until finance marks the day it was paid (and may clear it again); the
-- forecast counts the unpaid ones as outflows on their due date.
ALTER TABLE statements ADD COLUMN paid_on TEXT;
