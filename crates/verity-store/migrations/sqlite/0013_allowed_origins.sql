-- Browser apps (SPEC section 11): the web origins, besides those of the app's redirect URIs,
-- whose pages may read the token, userinfo and revocation endpoints' answers (CORS). A JSON
-- array of serialized origins (`https://spa.example.com`).
ALTER TABLE apps ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
