-- Written before a QBO write: says what is about to be sent and under which requestid, so a
-- crash after the write can be resolved instead of repeated.
INSERT INTO atqbo_sync_records
    (entity, autotask_id, generation, realm_id, status, attempts, payload_hash, request_id, run_id,
     created_at, updated_at)
VALUES (:entity, :autotask_id, :generation, :realm_id, 'IN_PROGRESS', 1, :payload_hash, :request_id, :run_id,
        :now, :now)
ON CONFLICT (entity, autotask_id) DO UPDATE SET
    generation = excluded.generation,
    realm_id = excluded.realm_id,
    status = 'IN_PROGRESS',
    attempts = atqbo_sync_records.attempts + 1,
    payload_hash = excluded.payload_hash,
    request_id = excluded.request_id,
    run_id = excluded.run_id,
    updated_at = excluded.updated_at
