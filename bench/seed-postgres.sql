-- Bulk data for the growth figures of BENCHMARKS.md on PostgreSQL: the same as seed-sqlite.sql,
-- 100,000 users (four attributes each) and 1,000,000 live tokens (half access, half refresh,
-- 500,000 grants) in a database Verity has migrated. The tokens expire in a week, so maintenance
-- does not purge them during a run.
--
--   psql postgres://postgres@127.0.0.1:5432/postgres -c 'CREATE DATABASE verity_growth'
--   DATABASE_URL=postgres://postgres@127.0.0.1:5432/verity_growth verity migrate
--   psql postgres://postgres@127.0.0.1:5432/verity_growth -f bench/seed-postgres.sql
--
-- Change the two counts below for other sizes. Seeded users cannot sign in (their password hash
-- is of a random password); they are there to make the tables and indexes big.
\set ON_ERROR_STOP on
\set users 100000
\set tokens 1000000
BEGIN;

INSERT INTO users (uuid, email, password_hash, created_at)
SELECT md5(random()::text || n),
       'seed-' || n || '@bench.test',
       '$argon2id$v=19$m=19456,t=2,p=1$c2VlZHNlZWRzZWVkc2VlZA$Vq8RO3Ybp9N7QRaoT5vGvR1ua7sNm6X1z5q5J0Jb3Xw',
       extract(epoch FROM now())::bigint
FROM generate_series(1, :users) AS n;

INSERT INTO user_attributes (uuid, handle, value)
SELECT u.uuid, a.handle, a.value
FROM users u
CROSS JOIN (VALUES ('fname', '"Seed"'), ('lname', '"User"'), ('birth_date', '"1990-01-01"'),
                   ('zip', '"94704"')) AS a(handle, value)
WHERE u.email LIKE 'seed-%@bench.test';

-- Tokens spread over the seeded users (both tokens of a grant to one user, of one session),
-- issued to the sandbox confidential app. Grant ids and session ids are random, as every one was
-- before Verity made them time-ordered (a database that grew before then; new ids sort apart
-- from them).
CREATE TEMP TABLE seed_users AS
SELECT row_number() OVER (ORDER BY email) AS i, uuid FROM users WHERE email LIKE 'seed-%@bench.test';
CREATE INDEX ON seed_users (i);
INSERT INTO tokens (token_hash, kind, grant_id, sid, client_id, uuid, scopes, auth_time, mfa,
                    created_at, expires_at)
SELECT encode(sha256(convert_to(random()::text || n, 'UTF8')), 'hex'),
       CASE n % 2 WHEN 0 THEN 'access' ELSE 'refresh' END,
       md5('grant ' || (n + 1) / 2),
       md5('session ' || (n + 1) / 2),
       'sandbox-confidential',
       s.uuid,
       '["openid","profile","email"]',
       extract(epoch FROM now())::bigint, false, extract(epoch FROM now())::bigint,
       extract(epoch FROM now())::bigint + 604800
FROM generate_series(1, :tokens) AS n
JOIN seed_users s ON s.i = 1 + ((n + 1) / 2) % :users;

COMMIT;
-- Only the seeded tables: an empty table analyzed as empty (0 rows) makes PostgreSQL's cached
-- generic plans scan it whole once it has grown, until autovacuum analyzes it again (up to a
-- minute); the run's own codes would then be scanned on every redemption (BENCHMARKS.md, Growth).
VACUUM ANALYZE users, user_attributes, tokens;
CHECKPOINT;
SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM tokens) AS tokens;
