UPDATE atqbo_oauth_tokens SET lease_owner = NULL, lease_until = NULL
WHERE realm_id = :realm_id AND lease_owner = :owner
