-- A run's report counts; a retried report task replaces its run's row.
INSERT INTO atqbo_run_history (dag_id, run_id, finished_at, counts, run_window, dry_run)
VALUES (:dag_id, :run_id, :now, :counts, :run_window, :dry_run)
ON CONFLICT (dag_id, run_id) DO UPDATE SET
    finished_at = excluded.finished_at,
    counts = excluded.counts,
    run_window = excluded.run_window,
    dry_run = excluded.dry_run
