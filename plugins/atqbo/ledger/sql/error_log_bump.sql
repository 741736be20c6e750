-- The same failure again. A retry that was asked for has now been tried: the request is used up.
-- The QBO company is the latest one the record went to; a caller that names none keeps the entry's.
UPDATE atqbo_error_log
SET attempts = attempts + 1, occurred_at = :now, dag_id = :dag_id, run_id = :run_id, fix = :fix,
    retry_requested_at = NULL, qbo_company = COALESCE(:qbo_company, qbo_company)
WHERE id = :id
