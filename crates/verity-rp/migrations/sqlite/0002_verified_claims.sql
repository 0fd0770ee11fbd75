-- Identity assurance (OpenID Connect for Identity Assurance): the `verified_claims` the app
-- asked for and kept at the person's latest sign-in, as a JSON array of verity-client's
-- VerifiedClaims (every member the provider sent). NULL when the app did not ask, or the
-- provider shared none. The raw userinfo body they came in stays in raw_responses.
ALTER TABLE verifications ADD COLUMN verified_claims TEXT;
