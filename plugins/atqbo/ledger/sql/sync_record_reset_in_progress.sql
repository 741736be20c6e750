-- TOOL-09: in-progress markers left by a killed run go back to PENDING (resolved on the next run).
UPDATE atqbo_sync_records SET status = 'PENDING', updated_at = :now
WHERE status = 'IN_PROGRESS' AND (:entity IS NULL OR entity = :entity)
