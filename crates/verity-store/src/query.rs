//! One statement, written once for both backends: [`query`] collects the SQL (numbered `$n`
//! placeholders) and its arguments; an [`Exec`] runs it on SQLite ([`LitePool`], [`LiteTx`]) or
//! PostgreSQL (a sqlx pool or transaction). The shape follows sqlx's (`bind`, `fetch_optional`,
//! `execute`), so a method's body reads the same on either.

use std::borrow::Cow;
use std::future::{Future, ready};

use sqlx::postgres::{PgArguments, PgPool, PgRow};
use sqlx::{Postgres, Transaction};

use crate::lite::{LitePool, LiteRow, LiteTx};
use crate::{Fields, Result, StoreError, WritePool};

/// A bound argument. Nulls keep their type: PostgreSQL checks it.
#[derive(Debug, Clone)]
pub(crate) enum Value<'q> {
    Int(Option<i64>),
    Bool(Option<bool>),
    Text(Option<Cow<'q, str>>),
    Blob(Option<Cow<'q, [u8]>>),
}

/// A statement and its arguments.
#[derive(Debug)]
pub(crate) struct Query<'q> {
    sql: Cow<'q, str>,
    args: Vec<Value<'q>>,
}

pub(crate) fn query<'q>(sql: impl Into<Cow<'q, str>>) -> Query<'q> {
    Query {
        sql: sql.into(),
        args: Vec::new(),
    }
}

/// The SQL of a statement spelt for SQLite (`[0]`) and PostgreSQL (`[1]`), built once.
pub(crate) type Spelt = std::sync::LazyLock<[String; 2]>;

/// The statement of `spelt` for the backend of `pool`.
pub(crate) fn spelt<P: WritePool>(spelt: &'static Spelt, _: &P) -> &'static str {
    &spelt[usize::from(P::POSTGRES)]
}

/// One placeholder for each of `columns` (a comma-separated list), numbered on from `last`,
/// which ends at the last one written.
pub(crate) fn placeholders(last: &mut usize, columns: &str) -> String {
    let list: Vec<String> = columns
        .split(',')
        .map(|_| {
            *last += 1;
            format!("${last}")
        })
        .collect();
    list.join(", ")
}

/// `INSERT INTO table (columns) VALUES ($1, ...)`, one placeholder per column.
pub(crate) fn insert_sql(table: &str, columns: &str) -> String {
    format!(
        "INSERT INTO {table} ({columns}) VALUES ({})",
        placeholders(&mut 0, columns)
    )
}

/// Rows written by a statement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Done(pub(crate) u64);

impl Done {
    pub(crate) fn rows_affected(&self) -> u64 {
        self.0
    }
}

impl<'q> Query<'q> {
    pub(crate) fn bind(mut self, v: impl Into<Value<'q>>) -> Self {
        self.args.push(v.into());
        self
    }

    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }

    pub(crate) fn args(&self) -> &[Value<'q>] {
        &self.args
    }

    /// The same arguments under another statement, which goes on numbering after them.
    pub(crate) fn with_sql(self, sql: impl Into<Cow<'q, str>>) -> Self {
        Query {
            sql: sql.into(),
            args: self.args,
        }
    }

    pub(crate) async fn fetch_all<E: Exec>(self, e: E) -> Result<Vec<E::Row>> {
        e.rows(self).await
    }

    pub(crate) async fn fetch_optional<E: Exec>(self, e: E) -> Result<Option<E::Row>> {
        Ok(e.rows(self).await?.into_iter().next())
    }

    pub(crate) async fn fetch_one<E: Exec>(self, e: E) -> Result<E::Row> {
        self.fetch_optional(e)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a query that returns a row returned none".into()))
    }

    pub(crate) async fn execute<E: Exec>(self, e: E) -> Result<Done> {
        e.execute(self).await
    }

    fn pg(&self) -> sqlx::query::Query<'_, Postgres, PgArguments> {
        let mut q = sqlx::query(&self.sql);
        for a in &self.args {
            q = match a {
                Value::Int(v) => q.bind(*v),
                Value::Bool(v) => q.bind(*v),
                Value::Text(v) => q.bind(v.as_deref()),
                Value::Blob(v) => q.bind(v.as_deref()),
            };
        }
        q
    }
}

/// Where a [`Query`] runs: a pool or a transaction of either backend.
pub(crate) trait Exec: Send {
    type Row: Fields + Send;
    fn rows(self, q: Query<'_>) -> impl Future<Output = Result<Vec<Self::Row>>> + Send;
    fn execute(self, q: Query<'_>) -> impl Future<Output = Result<Done>> + Send;
}

// SQLite runs a statement on the calling thread (see `lite`).
impl Exec for &LitePool {
    type Row = LiteRow;
    async fn rows(self, q: Query<'_>) -> Result<Vec<LiteRow>> {
        self.run(&q).await.map(|(rows, _)| rows)
    }
    async fn execute(self, q: Query<'_>) -> Result<Done> {
        self.run(&q).await.map(|(_, done)| done)
    }
}

// Inside a transaction, the futures are ready: a transaction runs in one poll.
impl Exec for &mut LiteTx {
    type Row = LiteRow;
    fn rows(self, q: Query<'_>) -> impl Future<Output = Result<Vec<LiteRow>>> + Send {
        ready(self.run(&q).map(|(rows, _)| rows))
    }
    fn execute(self, q: Query<'_>) -> impl Future<Output = Result<Done>> + Send {
        ready(self.run(&q).map(|(_, done)| done))
    }
}

impl Exec for &PgPool {
    type Row = PgRow;
    async fn rows(self, q: Query<'_>) -> Result<Vec<PgRow>> {
        Ok(q.pg().fetch_all(self).await?)
    }
    async fn execute(self, q: Query<'_>) -> Result<Done> {
        Ok(Done(q.pg().execute(self).await?.rows_affected()))
    }
}

impl Exec for &mut Transaction<'_, Postgres> {
    type Row = PgRow;
    async fn rows(self, q: Query<'_>) -> Result<Vec<PgRow>> {
        Ok(q.pg().fetch_all(&mut **self).await?)
    }
    async fn execute(self, q: Query<'_>) -> Result<Done> {
        Ok(Done(q.pg().execute(&mut **self).await?.rows_affected()))
    }
}

macro_rules! value_from {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {
        $(impl<'q> From<$t> for Value<'q> {
            fn from($v: $t) -> Self {
                $e
            }
        })*
    };
}

value_from! {
    i64 => |v| Value::Int(Some(v)),
    Option<i64> => |v| Value::Int(v),
    &'q i64 => |v| Value::Int(Some(*v)),
    &'q Option<i64> => |v| Value::Int(*v),
    bool => |v| Value::Bool(Some(v)),
    Option<bool> => |v| Value::Bool(v),
    &'q str => |v| Value::Text(Some(Cow::Borrowed(v))),
    &'q String => |v| Value::Text(Some(Cow::Borrowed(v))),
    String => |v| Value::Text(Some(Cow::Owned(v))),
    Option<&'q str> => |v| Value::Text(v.map(Cow::Borrowed)),
    Option<&'q String> => |v| Value::Text(v.map(|s| Cow::Borrowed(s.as_str()))),
    Option<String> => |v| Value::Text(v.map(Cow::Owned)),
    &'q Option<String> => |v| Value::Text(v.as_deref().map(Cow::Borrowed)),
    &'q [u8] => |v| Value::Blob(Some(Cow::Borrowed(v))),
    &'q Vec<u8> => |v| Value::Blob(Some(Cow::Borrowed(v))),
    Vec<u8> => |v| Value::Blob(Some(Cow::Owned(v))),
    Option<&'q [u8]> => |v| Value::Blob(v.map(Cow::Borrowed)),
    Option<Vec<u8>> => |v| Value::Blob(v.map(Cow::Owned)),
    &'q Option<Vec<u8>> => |v| Value::Blob(v.as_deref().map(Cow::Borrowed)),
}
