INSERT INTO atqbo_sync_records
    (entity, autotask_id, generation, realm_id, qbo_id, qbo_number, status, attempts, last_error, payload_hash,
     run_id, created_at, updated_at)
VALUES (:entity, :autotask_id, 0, :realm_id, :qbo_id, :qbo_number, :status, 0, :last_error, :payload_hash, :run_id,
        :now, :now)
ON CONFLICT (entity, autotask_id) DO UPDATE SET
    realm_id = COALESCE(excluded.realm_id, atqbo_sync_records.realm_id),
    qbo_id = COALESCE(excluded.qbo_id, atqbo_sync_records.qbo_id),
    qbo_number = COALESCE(excluded.qbo_number, atqbo_sync_records.qbo_number),
    status = excluded.status,
    last_error = excluded.last_error,
    payload_hash = COALESCE(excluded.payload_hash, atqbo_sync_records.payload_hash),
    run_id = COALESCE(excluded.run_id, atqbo_sync_records.run_id),
    updated_at = excluded.updated_at
