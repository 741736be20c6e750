-- TOOL-09: one in-progress marker back to PENDING (its requestid and attempts are kept).
UPDATE atqbo_sync_records SET status = 'PENDING', updated_at = :now
WHERE entity = :entity AND autotask_id = :autotask_id AND status = 'IN_PROGRESS'
