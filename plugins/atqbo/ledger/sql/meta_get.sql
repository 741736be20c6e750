SELECT value FROM atqbo_meta WHERE key = :key
