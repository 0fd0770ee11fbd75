//! Authorization codes: kept by digest when issued, taken once when presented. What a code is
//! and what its redemption must match are `verity_core::grant`'s; here it is only written,
//! taken and read.

use verity_core::grant::Code;
use verity_core::identity::UserData;

use crate::Store;
use crate::audit::AuditEvent;
use crate::dialect::{PerBackend, Spelt, data_columns, guarded_grant, row_with_user};
use crate::error::Result;
use crate::lite::Begin;
use crate::sql::{FromRow, insert, query, storable, stored};
use crate::tokens::{Token, guarded_grant_in};
use crate::users::data_from_row;

/// What presenting a code found.
#[derive(Debug, Clone, PartialEq)]
pub enum TakeCode {
    /// First use: the code is now consumed. With its account's claims data, read in the same
    /// step (`None` once the account is deleted).
    Fresh(Code, Option<UserData>),
    /// Already used: a replay, now marked. The caller revokes the grant (the code's
    /// `grant_id`).
    Replayed(Code),
    /// No such code.
    Unknown,
}

/// What presenting a code to [`Store::redeem_code`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Redeemed<T> {
    /// First use: the code is now consumed and the decision ran on it; what the decision asked
    /// to store was stored as [`Issued`] says (`None` when it stored nothing).
    Fresh(T, Option<Issued>),
    /// Already used: a replay, now marked (as [`TakeCode::Replayed`]).
    Replayed(Box<Code>),
    /// No such code.
    Unknown,
}

/// What a code's redemption stores: its tokens and their audit row.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub tokens: Vec<Token>,
    pub audit: AuditEvent,
}

/// A code read from a row.
struct Stored(Code);

/// What storing a code's tokens did ([`Store::insert_issuance`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issued {
    /// Stored, live.
    Live,
    /// Stored, then revoked: the code was presented again after it was taken.
    Revoked,
    /// No such code: nothing stored.
    NoCode,
}

stored!(Stored(Code) => "codes" {
    code_hash, grant_id, client_id [text], uuid, redirect_uri, scopes [json], nonce [text],
    code_challenge [text],
    auth_time, mfa, eid, sid, claims [json], dpop_jkt, created_at, expires_at, passkey [text],
});

/// Consumes an unused code `$2` at `$1`: on PostgreSQL one statement answers the code with its
/// account's claims data; SQLite has no `UPDATE` in `WITH`, so there the update answers the
/// code's digest and [`CODE_AND_USER`] reads the rest in the same transaction.
static TAKE_FRESH: Spelt = Spelt::new(|| {
    let take = "UPDATE codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL";
    [
        format!("{take} RETURNING code_hash"),
        format!(
            "WITH taken AS ({take} RETURNING *)
             SELECT taken.*, {} FROM taken LEFT JOIN users u ON u.uuid = taken.uuid",
            data_columns(true, "taken.uuid")
        ),
    ]
});

/// The code `$1`'s `replayed_at`, read so that no replay can mark it until the transaction
/// ends: SQLite's write transaction already excludes every other writer, so a read is enough
/// (and writes no page); PostgreSQL locks the row as [`guarded_grant`]'s guard (a replay's
/// update waits for the statement to commit, and a replay committed first is what the locking
/// read returns).
const HOLD_CODE: PerBackend = [
    "SELECT replayed_at FROM codes WHERE code_hash = $1",
    "SELECT replayed_at FROM codes WHERE code_hash = $1 FOR NO KEY UPDATE",
];

/// A code with its account's claims data, in one statement.
static CODE_AND_USER: Spelt = Spelt::new(|| row_with_user("codes", "code_hash"));

/// A code with its account's claims data.
struct Taken(Code, Option<UserData>);

impl FromRow for Taken {
    fn from_row(r: &impl crate::sql::Fields) -> Result<Self> {
        let Stored(code) = Stored::from_row(r)?;
        let user = data_from_row(r, &code.uuid)?;
        Ok(Taken(code, user))
    }
}

impl Store {
    pub async fn insert_code(&self, c: &Code) -> Result<()> {
        self.exec(insert(c)).await?;
        Ok(())
    }

    /// Consumes a code: exactly one caller ever gets [`TakeCode::Fresh`] for a given code.
    /// Expiry is the caller's decision (an expired code is still consumed, never reusable).
    pub async fn take_code(&self, code_hash: &str, now: i64) -> Result<TakeCode> {
        Ok(
            match self
                .redeem_code(code_hash, now, |c, u| (None, (c, u)))
                .await?
            {
                Redeemed::Fresh((code, user), _) => TakeCode::Fresh(code, user),
                Redeemed::Replayed(code) => TakeCode::Replayed(*code),
                Redeemed::Unknown => TakeCode::Unknown,
            },
        )
    }

    /// Consumes a code and stores what `decide` makes of it, as one step where the backend
    /// allows: exactly one caller ever has `decide` run for a given code. `decide` is given the
    /// code and its account's claims data (`None` once the account is deleted) and answers what
    /// to store (none: the presentation was refused, and the code is consumed all the same)
    /// beside what the caller keeps.
    ///
    /// SQLite takes the code, reads it and stores the tokens in one write transaction, so no
    /// replay comes between them. PostgreSQL takes the code in one statement and stores the
    /// tokens in a second one that holds the code's row (see [`Store::insert_issuance`]): a
    /// replay that came between them revokes them ([`Issued::Revoked`]).
    pub async fn redeem_code<T>(
        &self,
        code_hash: &str,
        now: i64,
        decide: impl FnOnce(Code, Option<UserData>) -> (Option<Issue>, T),
    ) -> Result<Redeemed<T>> {
        if !storable(code_hash) {
            return Ok(Redeemed::Unknown);
        }
        let fresh = query(self.spelt(&TAKE_FRESH)).bind(now).bind(code_hash);
        let decided = match self {
            Store::Postgres(..) => match self.fetch_opt::<Taken>(fresh).await? {
                None => None,
                Some(Taken(code, user)) => {
                    let (issue, out) = decide(code, user);
                    let issued = match issue {
                        Some(i) => Some(
                            self.insert_issuance(code_hash, &i.tokens, &i.audit, now)
                                .await?,
                        ),
                        None => None,
                    };
                    Some((out, issued))
                }
            },
            Store::Sqlite(pool, ..) => {
                pool.write(Begin::Write, |tx| {
                    if tx.fetch_optional(fresh)?.is_none() {
                        return Ok(None);
                    }
                    let read =
                        tx.fetch_optional(query(self.spelt(&CODE_AND_USER)).bind(code_hash))?;
                    let Some(Taken(code, user)) = read.as_ref().map(Taken::from_row).transpose()?
                    else {
                        return Ok(None);
                    };
                    let (issue, out) = decide(code, user);
                    let issued = match issue {
                        Some(i) => {
                            for t in &i.tokens {
                                tx.execute(insert(t))?;
                            }
                            tx.execute(insert(&i.audit))?;
                            Some(Issued::Live)
                        }
                        None => None,
                    };
                    Ok(Some((out, issued)))
                })
                .await?
            }
        };
        if let Some((out, issued)) = decided {
            return Ok(Redeemed::Fresh(out, issued));
        }
        let used = query("UPDATE codes SET replayed_at = $1 WHERE code_hash = $2 RETURNING *");
        Ok(
            match self.fetch_opt(used.bind(now).bind(code_hash)).await? {
                Some(Stored(code)) => Redeemed::Replayed(Box::new(code)),
                None => Redeemed::Unknown,
            },
        )
    }

    /// A code by digest that was never presented, without consuming it.
    pub async fn find_unused_code(&self, code_hash: &str) -> Result<Option<Code>> {
        let q = query("SELECT * FROM codes WHERE code_hash = $1 AND used_at IS NULL");
        let found: Option<Stored> = self.fetch_opt_by(q, code_hash).await?;
        Ok(found.map(|Stored(code)| code))
    }

    /// Stores the tokens a code was redeemed for, with their audit row, atomically (all or
    /// none). When the code has been presented again since it was taken (a replay, which
    /// revokes what the grant issued), they are stored and then revoked, so that none outlives
    /// that revocation.
    ///
    /// The write holds the code's row while it stores (one statement on PostgreSQL, see
    /// `dialect::guarded_grant`; SQLite's write transaction excludes every other writer), so a
    /// replay either came first and is seen here, or waits and then revokes these tokens.
    pub async fn insert_issuance(
        &self,
        code_hash: &str,
        tokens: &[Token],
        audit: &AuditEvent,
        now: i64,
    ) -> Result<Issued> {
        if !storable(code_hash) {
            return Ok(Issued::NoCode);
        }
        let guard = query(self.pick(&HOLD_CODE)).bind(code_hash);
        let replayed_at: Option<Option<i64>> = match self {
            Store::Postgres(..) => {
                self.fetch_opt(guarded_grant(guard, "", tokens, Some(audit)))
                    .await?
            }
            Store::Sqlite(pool, ..) => {
                pool.write(Begin::Write, |tx| {
                    let row = guarded_grant_in(tx, guard, tokens, Some(audit))?;
                    row.as_ref().map(Option::<i64>::from_row).transpose()
                })
                .await?
            }
        };
        Ok(match replayed_at {
            None => Issued::NoCode,
            Some(None) => Issued::Live,
            Some(Some(_)) => {
                // The tokens of one issuance are of one grant, the code's.
                if let Some(t) = tokens.first() {
                    self.revoke_grant(&t.grant_id, now).await?;
                }
                Issued::Revoked
            }
        })
    }

    /// Whether a code was presented again after its first use (see `take_code`).
    pub async fn find_code_replayed(&self, code_hash: &str) -> Result<bool> {
        let q = query("SELECT replayed_at FROM codes WHERE code_hash = $1");
        let replayed_at: Option<Option<i64>> = self.fetch_opt_by(q, code_hash).await?;
        Ok(replayed_at.flatten().is_some())
    }
}
