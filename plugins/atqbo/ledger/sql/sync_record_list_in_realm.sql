-- BEY-07: one QBO company's records (QBO Ids are per company): those that went to its realm, and,
-- for the default company, those written before routes existed (no realm).
SELECT entity, autotask_id, generation, realm_id, qbo_id, qbo_number, status, attempts, last_error,
       payload_hash, request_id, run_id, created_at, updated_at
FROM atqbo_sync_records
WHERE entity = :entity
  AND (:status IS NULL OR status = :status)
  AND (realm_id = :realm_id OR (realm_id IS NULL AND :with_unrealmed = 1))
ORDER BY autotask_id
