SELECT name, owner, acquired_at, expires_at, details FROM atqbo_run_locks ORDER BY name
