INSERT INTO atqbo_oauth_tokens (realm_id, version, updated_at) VALUES (:realm_id, 0, :now)
ON CONFLICT (realm_id) DO NOTHING
