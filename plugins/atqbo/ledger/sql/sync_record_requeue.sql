-- TOOL-08: a failed record goes back in the queue (PENDING); the next run sends it again.
UPDATE atqbo_sync_records SET status = 'PENDING', updated_at = :now
WHERE entity = :entity AND autotask_id = :autotask_id AND status = 'ERROR'
