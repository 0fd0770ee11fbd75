-- What an authorization request asked of identity assurance (OpenID Connect for Identity
-- Assurance `verified_claims`, through the `claims` parameter), as JSON: kept with the code and
-- with every token of its grant, so that the ID token (also after a refresh) and userinfo answer
-- it. 'null' when nothing was asked.
ALTER TABLE codes ADD COLUMN claims TEXT NOT NULL DEFAULT 'null';
ALTER TABLE tokens ADD COLUMN claims TEXT NOT NULL DEFAULT 'null';
