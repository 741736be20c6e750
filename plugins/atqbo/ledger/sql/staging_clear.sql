DELETE FROM atqbo_staging WHERE run_key = :run_key AND (:kind IS NULL OR kind = :kind)
