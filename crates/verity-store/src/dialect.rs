//! Every difference between the backends, in one place: how a transaction that writes begins,
//! the few statements spelt differently (JSON aggregation, row and key locks), and the
//! statements that exist only on PostgreSQL (advisory locks, and the `WITH` forms that make a
//! whole business step one round trip). Everything else is portable SQL, written once.

use std::sync::LazyLock;

use sqlx::postgres::PgPool;

use crate::audit::AuditEvent;
use crate::lite::LitePool;
use crate::sql::{Query, Record, Value, to_json};

/// What differs between the backends' pools.
pub(crate) trait Backend {
    /// A statement taking a transaction-scoped lock on the text `$1` (rows that may not exist
    /// yet); `None` where the write transaction already excludes every other writer (SQLite
    /// begins it with `BEGIN IMMEDIATE`: see `lite::Begin`).
    const KEY_LOCK: Option<&'static str>;
    /// Whether statements run on PostgreSQL: the index into a [`Spelt`] or [`PerBackend`].
    const POSTGRES: bool;
}

impl Backend for LitePool {
    const KEY_LOCK: Option<&'static str> = None;
    const POSTGRES: bool = false;
}

impl Backend for PgPool {
    const KEY_LOCK: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))");
    const POSTGRES: bool = true;
}

/// [`Backend::KEY_LOCK`] of a pool value.
pub(crate) fn key_lock<P: Backend>(_: &P) -> Option<&'static str> {
    P::KEY_LOCK
}

/// A statement written whole for SQLite (`[0]`) and PostgreSQL (`[1]`).
pub(crate) type PerBackend = [&'static str; 2];

/// The statement of `per` for the backend of `pool`.
pub(crate) fn pick<P: Backend>(per: &PerBackend, _: &P) -> &'static str {
    per[usize::from(P::POSTGRES)]
}

/// A statement spelt for SQLite (`[0]`) and PostgreSQL (`[1]`) from one text, built once.
pub(crate) type Spelt = LazyLock<[String; 2]>;

/// The statement of `spelt` for the backend of `pool`.
pub(crate) fn spelt<P: Backend>(spelt: &'static Spelt, _: &P) -> &'static str {
    &spelt[usize::from(P::POSTGRES)]
}

/// A throttling counter, read under a row lock on PostgreSQL: a concurrent single-statement
/// update waits for the transaction instead of being overwritten by what it read before.
/// (SQLite's write transaction already excludes every other writer.)
pub(crate) const ATTEMPTS_FOR_UPDATE: PerBackend = [
    "SELECT failures, window_start, locked_until FROM auth_failures WHERE key = $1",
    "SELECT failures, window_start, locked_until FROM auth_failures WHERE key = $1 FOR UPDATE",
];

/// The JSON array (as text, `[]` for no rows) of `expr` over the rows of a subquery.
pub(crate) fn json_agg(postgres: bool, expr: &str) -> String {
    if postgres {
        format!("coalesce(json_agg({expr}), '[]')::text")
    } else {
        format!("json_group_array({expr})")
    }
}

/// Select-list columns that read, beside another row, the claims data of the account whose
/// uuid is in column `uuid` (joined as `u`: `LEFT JOIN users u ON u.uuid = <uuid>`), so that one
/// statement (one round trip on PostgreSQL) reads both. Attributes and verifications come back
/// as JSON arrays, which `users::data_from_row` reads.
pub(crate) fn data_columns(postgres: bool, uuid: &str) -> String {
    let array = if postgres {
        "json_build_array"
    } else {
        "json_array"
    };
    let attributes = json_agg(postgres, &format!("{array}(handle, value)"));
    let verifications = json_agg(postgres, &format!("{array}(grp, verified, subgroups)"));
    format!(
        "u.email AS data_email,
         (SELECT {attributes} FROM user_attributes WHERE uuid = {uuid}) AS data_attributes,
         (SELECT {verifications} FROM verifications WHERE uuid = {uuid}) AS data_verifications"
    )
}

/// PostgreSQL: a session-level advisory lock on a job's key `$1`, waiting for it.
pub(crate) const JOB_LOCK: &str = "SELECT pg_advisory_lock($1)";
/// PostgreSQL: the same without waiting; whether it was taken.
pub(crate) const JOB_TRY_LOCK: &str = "SELECT pg_try_advisory_lock($1)";
/// PostgreSQL: gives the job's lock `$1` back.
pub(crate) const JOB_UNLOCK: &str = "SELECT pg_advisory_unlock($1)";

/// PostgreSQL: a `WITH` item for [`guarded_grant`] that clears the retry answer of the
/// predecessor of the refresh token taken (an unchanging column of the row `guard` returns):
/// the token is being used, so its predecessor's answer is no longer given again.
pub(crate) const FORGET_PREDECESSOR_RETRY: &str = ", forgotten AS (UPDATE tokens p SET \
     retry_response = NULL, retry_until = NULL FROM guard WHERE p.token_hash = guard.parent_hash \
     AND p.retry_response IS NOT NULL RETURNING 1)";

/// PostgreSQL: a grant's writes as one statement. `guard` is a data-modifying statement (with
/// its arguments bound) that returns a row only when the grant may go on: the code or the
/// refresh token taken. The statement stores `rows` and `audit` only from that row, runs
/// `also` (further `WITH` items, which may read `guard`), and answers `guard`'s rows.
///
/// A statement is atomic on its own, and a conditional `UPDATE` in it waits for a concurrent
/// one's row lock and checks again, as it does in a transaction: of two presentations one takes
/// the row and the other stores nothing. It is one round trip to the server where the same
/// writes as a transaction (`BEGIN`, the update, each insert, `COMMIT`) took six or seven, each
/// costing both processes a wake-up.
pub(crate) fn guarded_grant<'q, R: Record, A: Record>(
    guard: Query<'q>,
    also: &str,
    rows: &'q [R],
    audit: Option<&'q A>,
) -> Query<'q> {
    let mut q = guard.prepend("WITH guard AS (").push(")").push(also);
    if let Some(first) = rows.first() {
        let names = column_names(first);
        q = q
            .push(", issued AS (INSERT INTO ")
            .push(R::TABLE)
            .push(&format!(" ({names}) SELECT v.* FROM guard, (VALUES "));
        for (i, row) in rows.iter().enumerate() {
            q = q
                .push(if i == 0 { "" } else { ", " })
                .push_tuple(values(row));
        }
        q = q.push(&format!(") AS v({names}) RETURNING 1)"));
    }
    if let Some(audit) = audit {
        q = q
            .push(", audited AS (INSERT INTO ")
            .push(A::TABLE)
            .push(&format!(" ({}) SELECT ", column_names(audit)))
            .push_list(values(audit))
            .push(" FROM guard RETURNING 1)");
    }
    q.push(" SELECT * FROM guard")
}

fn column_names<R: Record>(r: &R) -> String {
    let names: Vec<&str> = r.fields().into_iter().map(|(name, _)| name).collect();
    names.join(", ")
}

fn values<R: Record>(r: &R) -> Vec<Value<'_>> {
    r.fields().into_iter().map(|(_, v)| v).collect()
}

/// One token of [`code_grant`]: its digest, kind, creation and expiry.
pub(crate) type NewToken<'q> = (&'q str, &'static str, i64, i64);

/// PostgreSQL: a code's redemption as one statement. `guard` consumes the code; `tokens` and
/// the audit row take their grant (account, scopes, authentication, session) from the row it
/// returns, and the statement answers that row with the account's claims data.
pub(crate) fn code_grant<'q>(
    guard: Query<'q>,
    tokens: &[NewToken<'q>],
    audit: &'q AuditEvent,
) -> Query<'q> {
    let mut q = guard.prepend("WITH guard AS (").push(
        "), issued AS (INSERT INTO tokens (token_hash, kind, grant_id, client_id, uuid, scopes,
             auth_time, mfa, eid, sid, parent_hash, created_at, expires_at, used_at, revoked_at)
           SELECT v.token_hash, v.kind, g.code_hash, g.client_id, g.uuid, g.scopes, g.auth_time,
                  g.mfa, g.eid, g.sid, NULL, v.created_at, v.expires_at, NULL, NULL
           FROM guard g, (VALUES ",
    );
    for (i, &(hash, kind, created_at, expires_at)) in tokens.iter().enumerate() {
        let row = [
            hash.into(),
            kind.into(),
            created_at.into(),
            expires_at.into(),
        ];
        q = q.push(if i == 0 { "" } else { ", " }).push_tuple(row);
    }
    q.push(
        ") AS v(token_hash, kind, created_at, expires_at) RETURNING 1),
         audited AS (INSERT INTO audit_events
           (at, event, uuid, client_id, address, request_id, detail) SELECT ",
    )
    .push_list([audit.at.into(), (&audit.event).into()])
    .push(", g.uuid, ")
    .push_list([
        (&audit.client_id).into(),
        (&audit.address).into(),
        (&audit.request_id).into(),
        to_json(&audit.detail).into(),
    ])
    .push(" FROM guard g RETURNING 1) SELECT g.*, ")
    .push(&data_columns(true, "g.uuid"))
    .push(" FROM guard g LEFT JOIN users u ON u.uuid = g.uuid")
}

/// PostgreSQL: `read` (which names the session `s`), and in the same statement the row that
/// `insert` writes from it (an `INSERT ... SELECT ... FROM s`); answers `read`'s rows.
pub(crate) fn read_then_insert<'q>(
    read: Query<'q>,
    insert: impl FnOnce(Query<'q>) -> Query<'q>,
) -> Query<'q> {
    let q = read.prepend("WITH s AS (").push("), issued AS (");
    insert(q).push(" RETURNING 1) SELECT * FROM s")
}
