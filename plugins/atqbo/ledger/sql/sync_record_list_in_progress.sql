-- TOOL-09: records a run marked IN_PROGRESS (just before a QBO write) and never settled.
SELECT entity, autotask_id, generation, realm_id, qbo_id, qbo_number, status, attempts, last_error,
       payload_hash, request_id, run_id, created_at, updated_at
FROM atqbo_sync_records
WHERE status = 'IN_PROGRESS'
ORDER BY entity, autotask_id
