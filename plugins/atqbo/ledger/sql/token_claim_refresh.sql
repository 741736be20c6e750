-- Atomic: exactly one caller gets the lease while it is held; an expired lease can be taken over.
UPDATE atqbo_oauth_tokens
SET lease_owner = :owner, lease_until = :lease_until
WHERE realm_id = :realm_id
  AND (lease_owner IS NULL OR lease_owner = :owner OR lease_until IS NULL OR lease_until < :now)
