UPDATE atqbo_error_log SET resolved_at = :now
WHERE entity = :entity AND autotask_id = :autotask_id AND resolved_at IS NULL
