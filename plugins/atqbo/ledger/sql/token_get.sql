SELECT realm_id, refresh_token, access_token, access_expires_at, refresh_expires_at, version,
       source_fingerprint, lease_owner, lease_until, updated_at
FROM atqbo_oauth_tokens
WHERE realm_id = :realm_id
