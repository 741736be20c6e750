-- Take the lock when free, expired or already ours; the caller reads the row back (held = its owner is the caller).
INSERT INTO atqbo_run_locks (name, owner, acquired_at, expires_at, details)
VALUES (:name, :owner, :now, :expires_at, :details)
ON CONFLICT (name) DO UPDATE SET
    owner = excluded.owner,
    acquired_at = excluded.acquired_at,
    expires_at = excluded.expires_at,
    details = excluded.details
WHERE atqbo_run_locks.expires_at < excluded.acquired_at OR atqbo_run_locks.owner = excluded.owner
