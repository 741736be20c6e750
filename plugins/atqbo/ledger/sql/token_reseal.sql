-- The same tokens sealed again (plain ones from an earlier atqbo, or sealed with an older Fernet
-- key); the version is unchanged. Skipped when another worker stored new tokens meanwhile.
UPDATE atqbo_oauth_tokens
SET refresh_token = :refresh_token,
    access_token = :access_token
WHERE realm_id = :realm_id AND version = :version
