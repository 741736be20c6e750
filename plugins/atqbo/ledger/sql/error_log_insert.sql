INSERT INTO atqbo_error_log (entity, autotask_id, qbo_id, dag_id, run_id, message, fix, attempts, occurred_at,
                             qbo_company)
VALUES (:entity, :autotask_id, :qbo_id, :dag_id, :run_id, :message, :fix, :attempts, :now, :qbo_company)
RETURNING id
