SELECT entity, autotask_id, generation, realm_id, qbo_id, qbo_number, status, attempts, last_error,
       payload_hash, request_id, run_id, created_at, updated_at
FROM atqbo_sync_records
WHERE entity = :entity AND autotask_id = :autotask_id
