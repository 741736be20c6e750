-- BEY-01: an intent's write goes out now (each attempt): QBO may commit it for a while after the
-- last one, and no run sends the record again until then (atqbo.write_in_flight).
UPDATE atqbo_sync_records SET updated_at = :now
WHERE entity = :entity AND autotask_id = :autotask_id AND status = 'IN_PROGRESS' AND run_id = :run_id
