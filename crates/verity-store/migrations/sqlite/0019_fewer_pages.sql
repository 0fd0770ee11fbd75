-- Fewer pages written per grant (issue 25). Each `AUTOINCREMENT` table rewrote the
-- `sqlite_sequence` page in every transaction that added a row to it: an authorization (its
-- release) and a token grant (its audit row) each wrote that page once more. Row ids are still
-- the largest so far plus one; nothing refers to an audit row or a release by id from outside its
-- own listing. And the audit trail's purge walks the rows in id order (they are written in time
-- order), so its index on `at` only cost every audit row one more page.
CREATE TABLE audit_events_new (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    event       TEXT NOT NULL,
    uuid        TEXT,
    client_id   TEXT,
    address     TEXT,
    request_id  TEXT,
    detail      TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO audit_events_new (id, at, event, uuid, client_id, address, request_id, detail)
    SELECT id, at, event, uuid, client_id, address, request_id, detail FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;
CREATE INDEX audit_client ON audit_events(client_id, at);
CREATE INDEX audit_uuid ON audit_events(uuid, at);

CREATE TABLE releases_new (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    uuid       TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    policies   TEXT NOT NULL DEFAULT '[]',
    handles    TEXT NOT NULL DEFAULT '[]'
);
INSERT INTO releases_new (id, at, uuid, client_id, policies, handles)
    SELECT id, at, uuid, client_id, policies, handles FROM releases;
DROP TABLE releases;
ALTER TABLE releases_new RENAME TO releases;
CREATE INDEX releases_uuid ON releases(uuid, client_id, id);
