UPDATE atqbo_error_log SET retry_requested_at = :now
WHERE id = :id AND resolved_at IS NULL
