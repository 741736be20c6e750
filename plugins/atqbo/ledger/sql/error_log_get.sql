SELECT id, entity, autotask_id, qbo_id, dag_id, run_id, message, fix, attempts, occurred_at,
       retry_requested_at, resolved_at, qbo_company
FROM atqbo_error_log
WHERE id = :id
