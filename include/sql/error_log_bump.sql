UPDATE atqbo_error_log
SET attempts = attempts + 1, occurred_at = :now, dag_id = :dag_id, run_id = :run_id, fix = :fix
WHERE id = :id
