DELETE FROM atqbo_run_locks WHERE name = :name AND owner = :owner
