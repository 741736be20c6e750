UPDATE atqbo_oauth_tokens
SET refresh_token = :refresh_token,
    access_token = :access_token,
    access_expires_at = :access_expires_at,
    refresh_expires_at = :refresh_expires_at,
    source_fingerprint = :source_fingerprint,
    version = version + 1,
    lease_owner = NULL,
    lease_until = NULL,
    updated_at = :now
WHERE realm_id = :realm_id
