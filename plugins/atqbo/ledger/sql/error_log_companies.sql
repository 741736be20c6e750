-- The QBO companies the error log names (BEY-07), open entries or resolved ones.
SELECT DISTINCT qbo_company FROM atqbo_error_log WHERE qbo_company IS NOT NULL ORDER BY qbo_company
