-- Runs finished before :before leave the history (the UI shows the latest ones).
DELETE FROM atqbo_run_history WHERE finished_at < :before
