-- The digest of a system's rows in threat_techniques, so that a push whose
-- threats expose the same techniques leaves those rows alone.

-- +goose Up
ALTER TABLE systems ADD COLUMN techniques_digest TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE systems DROP COLUMN techniques_digest;
