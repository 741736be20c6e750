-- The latest runs, newest first (all DAGs, or one).
SELECT dag_id, run_id, finished_at, counts, run_window, dry_run
FROM atqbo_run_history
WHERE (:dag_id IS NULL OR dag_id = :dag_id)
ORDER BY finished_at DESC, dag_id, run_id
LIMIT :limit
