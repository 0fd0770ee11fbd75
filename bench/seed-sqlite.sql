-- Bulk data for the growth figures of BENCHMARKS.md: 100,000 users (four attributes each) and
-- 1,000,000 live tokens (half access, half refresh, 500,000 grants) in a migrated Verity SQLite
-- database. The tokens expire in a week, so maintenance does not purge them during a run.
--
--   verity migrate --data-dir DIR                       # creates DIR/verity.db
--   sqlite3 DIR/verity.db < bench/seed-sqlite.sql       # about a minute on 2 cores
--   DATA_DIR=DIR bench/measure-verity.sh                # the sandbox is seeded at first start
--
-- Change the two counts below for other sizes. Seeded users cannot sign in (their password hash
-- is of a random password); they are there to make the tables and indexes big.
.bail on
.parameter init
.parameter set @users 100000
.parameter set @tokens 1000000
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;

CREATE TEMP TABLE seq(n INTEGER PRIMARY KEY);
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < MAX(@users, @tokens))
INSERT INTO seq SELECT n FROM s;

INSERT INTO users (uuid, email, password_hash, created_at)
SELECT lower(hex(randomblob(16))),
       'seed-' || n || '@bench.test',
       '$argon2id$v=19$m=19456,t=2,p=1$c2VlZHNlZWRzZWVkc2VlZA$Vq8RO3Ybp9N7QRaoT5vGvR1ua7sNm6X1z5q5J0Jb3Xw',
       unixepoch()
FROM seq WHERE n <= @users;

INSERT INTO user_attributes (uuid, handle, value)
SELECT u.uuid, a.handle, a.value
FROM users u
JOIN (SELECT 'fname' AS handle, '"Seed"' AS value
      UNION ALL SELECT 'lname', '"User"'
      UNION ALL SELECT 'birth_date', '"1990-01-01"'
      UNION ALL SELECT 'zip', '"94704"') a
WHERE u.email LIKE 'seed-%@bench.test';

-- Tokens spread over the seeded users (both tokens of a grant to one user, of one session),
-- issued to the sandbox confidential app. Grant ids and session ids are random, as every one was
-- before Verity made them time-ordered (a database that grew before then; new ids sort apart
-- from them).
CREATE TEMP TABLE seed_users(i INTEGER PRIMARY KEY, uuid TEXT NOT NULL);
INSERT INTO seed_users (uuid) SELECT uuid FROM users WHERE email LIKE 'seed-%@bench.test' ORDER BY rowid;
CREATE TEMP TABLE seed_grants(i INTEGER PRIMARY KEY, grant_id TEXT NOT NULL, sid TEXT NOT NULL);
INSERT INTO seed_grants (i, grant_id, sid)
SELECT n, lower(hex(randomblob(16))), lower(hex(randomblob(16))) FROM seq WHERE n <= (@tokens + 1) / 2;
INSERT INTO tokens (token_hash, kind, grant_id, sid, client_id, uuid, scopes, auth_time, mfa,
                    created_at, expires_at)
SELECT lower(hex(randomblob(32))),
       CASE n % 2 WHEN 0 THEN 'access' ELSE 'refresh' END,
       (SELECT grant_id FROM seed_grants WHERE i = (n + 1) / 2),
       (SELECT sid FROM seed_grants WHERE i = (n + 1) / 2),
       'sandbox-confidential',
       (SELECT uuid FROM seed_users WHERE i = 1 + ((n + 1) / 2) % @users),
       '["openid","profile","email"]',
       unixepoch(), 0, unixepoch(), unixepoch() + 604800
FROM seq WHERE n <= @tokens;

COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM tokens) AS tokens;
