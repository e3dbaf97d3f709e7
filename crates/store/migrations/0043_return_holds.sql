-- Units held on grading (quarantine, refurbish) released later to the shelf or written off.
ALTER TABLE return_lines ADD COLUMN released BIGINT NOT NULL DEFAULT 0;
