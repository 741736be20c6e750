SELECT item_key, data FROM atqbo_staging WHERE run_key = :run_key AND kind = :kind ORDER BY item_key
