-- The same failure again. A retry that was asked for has now been tried: the request is used up.
UPDATE atqbo_error_log
SET attempts = attempts + 1, occurred_at = :now, dag_id = :dag_id, run_id = :run_id, fix = :fix,
    retry_requested_at = NULL
WHERE id = :id
