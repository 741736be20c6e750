DELETE FROM atqbo_staging WHERE created_at < :before
