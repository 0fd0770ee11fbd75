//! Every difference between the backends' SQL, in one place: the few statements spelt
//! differently (JSON aggregation, row and key locks), and the statements that exist only on
//! PostgreSQL (advisory locks, and the `WITH` forms that make a whole business step one round
//! trip). Everything else is portable SQL, written once. (How a SQLite transaction begins,
//! `BEGIN IMMEDIATE` or `BEGIN`, is the SQLite driver's: `lite::Begin`.)

use std::sync::LazyLock;

use crate::Store;
use crate::sql::{Query, Record};

/// A statement written whole for SQLite (`[0]`) and PostgreSQL (`[1]`).
pub(crate) type PerBackend = [&'static str; 2];

/// A statement spelt for SQLite (`[0]`) and PostgreSQL (`[1]`) from one text, built once.
pub(crate) type Spelt = LazyLock<[String; 2]>;

impl Store {
    fn postgres(&self) -> bool {
        matches!(self, Store::Postgres(..))
    }

    /// The statement of `per` for this store's backend.
    pub(crate) fn pick(&self, per: &PerBackend) -> &'static str {
        per[usize::from(self.postgres())]
    }

    /// The statement of `spelt` for this store's backend.
    pub(crate) fn spelt(&self, spelt: &'static Spelt) -> &'static str {
        &spelt[usize::from(self.postgres())]
    }

    /// A statement taking a transaction-scoped lock on the text `$1` (rows that may not exist
    /// yet); `None` on SQLite, where a write transaction already excludes every other writer
    /// (it begins with `BEGIN IMMEDIATE`: see `lite::Begin`).
    pub(crate) fn key_lock(&self) -> Option<&'static str> {
        self.postgres()
            .then_some("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
    }
}

/// A throttling counter, read under a row lock on PostgreSQL: a concurrent single-statement
/// update waits for the transaction instead of being overwritten by what it read before.
/// (SQLite's write transaction already excludes every other writer.)
pub(crate) const ATTEMPTS_FOR_UPDATE: PerBackend = [
    "SELECT failures, window_start, locked_until FROM auth_failures WHERE key = $1",
    "SELECT failures, window_start, locked_until FROM auth_failures WHERE key = $1 FOR UPDATE",
];

/// A limit's counter, read under a row lock on PostgreSQL (as [`ATTEMPTS_FOR_UPDATE`]).
pub(crate) const LIMIT_FOR_UPDATE: PerBackend = [
    "SELECT hits, window_start FROM rate_limits WHERE key = $1",
    "SELECT hits, window_start FROM rate_limits WHERE key = $1 FOR UPDATE",
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
        "u.email AS data_email, u.email_confirmed_at AS data_email_confirmed_at,
         (SELECT {attributes} FROM user_attributes WHERE uuid = {uuid}) AS data_attributes,
         (SELECT {verifications} FROM verifications WHERE uuid = {uuid}) AS data_verifications"
    )
}

/// `SELECT` of the row of `table` whose `key` is `$1`, with the claims data of its account (the
/// row's `uuid`), spelt for both backends: a code or a token with what its claims are built
/// from, in one statement.
pub(crate) fn row_with_user(table: &str, key: &str) -> [String; 2] {
    [false, true].map(|pg| {
        format!(
            "SELECT r.*, {} FROM {table} r LEFT JOIN users u ON u.uuid = r.uuid
             WHERE r.{key} = $1",
            data_columns(pg, "r.uuid")
        )
    })
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
        q = q.push(", issued AS (INSERT INTO ").push(R::TABLE).push(" ");
        q = push_columns(q, first).push(" SELECT v.* FROM guard, (VALUES ");
        for (i, row) in rows.iter().enumerate() {
            let values = row.fields().into_iter().map(|(_, v)| v);
            q = q.push(if i == 0 { "" } else { ", " }).push_tuple(values);
        }
        q = push_columns(q.push(") AS v"), first).push(" RETURNING 1)");
    }
    if let Some(audit) = audit {
        q = insert_select(q.push(", audited AS ("), audit, &[]).push(" FROM guard RETURNING 1)");
    }
    q.push(" SELECT * FROM guard")
}

/// `(<column>, ...)`: the columns of `record`.
fn push_columns<'q, R: Record>(mut q: Query<'q>, record: &R) -> Query<'q> {
    for (i, (name, _)) in record.fields().into_iter().enumerate() {
        q = q.push(if i == 0 { "(" } else { ", " }).push(name);
    }
    q.push(")")
}

/// `INSERT INTO <table> (<columns>) SELECT <values>` for `record`: each value a placeholder, but
/// those of the columns named in `selected`, which are the SQL given beside them (a column of
/// the row the caller selects from).
fn insert_select<'q, R: Record>(
    q: Query<'q>,
    record: &'q R,
    selected: &[(&str, &str)],
) -> Query<'q> {
    let mut q = push_columns(q.push("INSERT INTO ").push(R::TABLE).push(" "), record);
    q = q.push(" SELECT ");
    for (i, (name, value)) in record.fields().into_iter().enumerate() {
        q = q.push(if i == 0 { "" } else { ", " });
        q = match selected.iter().find(|(column, _)| *column == name) {
            Some((_, sql)) => q.push(sql),
            None => q.push_bind(value),
        };
    }
    q
}
