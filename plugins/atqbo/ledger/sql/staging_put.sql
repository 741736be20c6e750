INSERT INTO atqbo_staging (run_key, kind, item_key, data, created_at)
VALUES (:run_key, :kind, :item_key, :data, :now)
ON CONFLICT (run_key, kind, item_key) DO UPDATE SET data = excluded.data, created_at = excluded.created_at
