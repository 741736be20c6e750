-- The open entry for the same record and message: a repeat failure updates it instead of adding noise.
SELECT id, attempts FROM atqbo_error_log
WHERE entity = :entity AND autotask_id = :autotask_id AND message = :message AND resolved_at IS NULL
ORDER BY id DESC
