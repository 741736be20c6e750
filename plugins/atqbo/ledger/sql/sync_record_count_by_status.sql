SELECT entity, status, COUNT(*) AS n FROM atqbo_sync_records GROUP BY entity, status ORDER BY entity, status
