SELECT id, entity, autotask_id, qbo_id, dag_id, run_id, message, fix, attempts, occurred_at,
       retry_requested_at, resolved_at, qbo_company
FROM atqbo_error_log
WHERE (:entity IS NULL OR entity = :entity)
  AND (:since IS NULL OR occurred_at >= :since)
  AND (:include_resolved = 1 OR resolved_at IS NULL)
  AND (:qbo_company IS NULL OR qbo_company = :qbo_company)
ORDER BY occurred_at DESC, id DESC
