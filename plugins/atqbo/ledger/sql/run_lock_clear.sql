-- TOOL-09: remove locks, all of them or only those past their expiry.
DELETE FROM atqbo_run_locks WHERE (:stale_only = 0 OR expires_at < :now)
