//! One statement, written once for both backends: [`query`] takes a whole statement (numbered
//! `$n` placeholders, which SQLite accepts too) and [`Query::bind`] its arguments in order; the
//! few statements assembled from parts use [`Query::push`] and [`Query::push_bind`], which
//! number the placeholders themselves. An [`Exec`] runs it: a PostgreSQL pool or transaction
//! (here) or the SQLite connection (`lite`); inside a SQLite transaction, `lite::LiteTx` runs it
//! synchronously. The shape follows sqlx's (`bind`, `fetch_optional`, `execute`), so a
//! method's body reads the same on either.
//!
//! Rows come back as a [`Fields`] (a column by name); [`FromRow`] turns one into a value, and a
//! [`Record`] is a value stored as one row, its columns named beside their values.

use std::borrow::Cow;
use std::future::Future;

use sqlx::postgres::{PgArguments, PgPool, PgRow};
use sqlx::{Postgres, Transaction};

use crate::error::{Result, StoreError};

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

/// A whole statement; its `$n` placeholders are bound in order by [`Query::bind`].
pub(crate) fn query<'q>(sql: impl Into<Cow<'q, str>>) -> Query<'q> {
    Query {
        sql: sql.into(),
        args: Vec::new(),
    }
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
    /// The argument of the next `$n` written in the statement.
    pub(crate) fn bind(mut self, v: impl Into<Value<'q>>) -> Self {
        self.args.push(v.into());
        self
    }

    /// Appends SQL text (no placeholders: use [`Query::push_bind`]).
    pub(crate) fn push(mut self, sql: &str) -> Self {
        self.sql.to_mut().push_str(sql);
        self
    }

    /// Appends a placeholder for `v`, numbered after every argument so far.
    pub(crate) fn push_bind(mut self, v: impl Into<Value<'q>>) -> Self {
        self.args.push(v.into());
        let n = self.args.len();
        let sql = self.sql.to_mut();
        sql.push('$');
        sql.push_str(&n.to_string());
        self
    }

    /// Appends `$a, $b, ...`, a placeholder for each of `values`.
    pub(crate) fn push_list(mut self, values: impl IntoIterator<Item = Value<'q>>) -> Self {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self = self.push(", ");
            }
            self = self.push_bind(v);
        }
        self
    }

    /// Appends `($a, $b, ...)`, a placeholder for each of `values`.
    pub(crate) fn push_tuple(self, values: impl IntoIterator<Item = Value<'q>>) -> Self {
        self.push("(").push_list(values).push(")")
    }

    /// The same statement with `sql` written before it (so its placeholders keep their numbers).
    pub(crate) fn prepend(mut self, sql: &str) -> Self {
        self.sql = Cow::Owned(format!("{sql}{}", self.sql));
        self
    }

    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }

    pub(crate) fn args(&self) -> &[Value<'q>] {
        &self.args
    }

    pub(crate) async fn fetch_all<E: Exec>(self, e: E) -> Result<Vec<E::Row>> {
        e.rows(self).await
    }

    pub(crate) async fn fetch_optional<E: Exec>(self, e: E) -> Result<Option<E::Row>> {
        Ok(e.rows(self).await?.into_iter().next())
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

/// `INSERT INTO <table> (<columns>) VALUES (<placeholders>)` for one record.
pub(crate) fn insert<R: Record>(record: &R) -> Query<'_> {
    let (names, values): (Vec<&str>, Vec<Value<'_>>) = record.fields().into_iter().unzip();
    query("INSERT INTO ")
        .push(R::TABLE)
        .push(" (")
        .push(&names.join(", "))
        .push(") VALUES ")
        .push_tuple(values)
}

/// A value stored as one row of [`Record::TABLE`].
pub(crate) trait Record {
    const TABLE: &'static str;
    /// Each column with its value: a name is written beside what goes in it.
    fn fields(&self) -> Vec<(&'static str, Value<'_>)>;
}

/// A value read from one row.
pub(crate) trait FromRow: Sized {
    fn from_row(r: &impl Fields) -> Result<Self>;
}

/// A single-column query's value: its first column.
impl<T: Col> FromRow for T {
    fn from_row(r: &impl Fields) -> Result<Self> {
        r.first()
    }
}

/// Where a [`Query`] runs: a pool or a transaction of either backend.
pub(crate) trait Exec: Send {
    type Row: Fields + Send;
    fn rows(self, q: Query<'_>) -> impl Future<Output = Result<Vec<Self::Row>>> + Send;
    fn execute(self, q: Query<'_>) -> impl Future<Output = Result<Done>> + Send;
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

/// A column type decodable on both backends.
pub(crate) trait Col:
    rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>
{
}

impl<T> Col for T where
    T: rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>
{
}

/// A row of either backend, for the [`FromRow`] implementations written once.
pub(crate) trait Fields {
    fn col<T: Col>(&self, name: &str) -> Result<T>;
    fn first<T: Col>(&self) -> Result<T>;
}

impl Fields for PgRow {
    fn col<T: Col>(&self, name: &str) -> Result<T> {
        Ok(sqlx::Row::try_get(self, name)?)
    }
    fn first<T: Col>(&self) -> Result<T> {
        Ok(sqlx::Row::try_get(self, 0)?)
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
    &'q bool => |v| Value::Bool(Some(*v)),
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

/// The row of a stored struct, declared once: its [`FromRow`], and with `=> "table"` its
/// [`Record`] too, from one list of columns named like the fields, so that reading and writing
/// cannot name different columns or drift apart. A field marked `[json]` is stored as JSON text,
/// one marked `[lower]` is written lower-cased (emails, which are compared lower-cased), and one
/// marked `[or_default]` reads a NULL (a row from before its column) as the type's default.
macro_rules! stored {
    ($ty:ident { $($field:ident $([$codec:ident])?),* $(,)? }) => {
        impl $crate::sql::FromRow for $ty {
            fn from_row(r: &impl $crate::sql::Fields) -> $crate::error::Result<Self> {
                Ok($ty {
                    $($field: $crate::sql::stored!(@read r, $field $($codec)?),)*
                })
            }
        }
    };
    ($ty:ident => $table:literal { $($field:ident $([$codec:ident])?),* $(,)? }) => {
        $crate::sql::stored!($ty { $($field $([$codec])?),* });
        impl $crate::sql::Record for $ty {
            const TABLE: &'static str = $table;
            fn fields(&self) -> Vec<(&'static str, $crate::sql::Value<'_>)> {
                vec![$((stringify!($field), $crate::sql::stored!(@write self, $field $($codec)?)),)*]
            }
        }
    };
    // Another crate's type, read through a local wrapper `$wrap($ty)` (the blanket
    // `FromRow for T: Col` rules out an impl on a foreign type itself).
    ($wrap:ident($ty:ident) => $table:literal { $($field:ident $([$codec:ident])?),* $(,)? }) => {
        impl $crate::sql::FromRow for $wrap {
            fn from_row(r: &impl $crate::sql::Fields) -> $crate::error::Result<Self> {
                Ok($wrap($ty {
                    $($field: $crate::sql::stored!(@read r, $field $($codec)?),)*
                }))
            }
        }
        impl $crate::sql::Record for $ty {
            const TABLE: &'static str = $table;
            fn fields(&self) -> Vec<(&'static str, $crate::sql::Value<'_>)> {
                vec![$((stringify!($field), $crate::sql::stored!(@write self, $field $($codec)?)),)*]
            }
        }
    };
    (@read $r:ident, $field:ident) => {
        $crate::sql::Fields::col($r, stringify!($field))?
    };
    (@read $r:ident, $field:ident json) => {
        $crate::sql::from_json(&$crate::sql::Fields::col::<String>($r, stringify!($field))?)?
    };
    (@read $r:ident, $field:ident text) => {
        $crate::sql::from_text($crate::sql::Fields::col($r, stringify!($field))?)?
    };
    (@write $s:ident, $field:ident) => {
        (&$s.$field).into()
    };
    (@write $s:ident, $field:ident text) => {
        $crate::sql::to_text(&$s.$field).into()
    };
    (@write $s:ident, $field:ident json) => {
        $crate::sql::to_json(&$s.$field).into()
    };
    (@read $r:ident, $field:ident lower) => {
        $crate::sql::Fields::col($r, stringify!($field))?
    };
    (@write $s:ident, $field:ident lower) => {
        $s.$field.to_lowercase().into()
    };
    (@read $r:ident, $field:ident or_default) => {
        $crate::sql::Fields::col::<Option<_>>($r, stringify!($field))?.unwrap_or_default()
    };
    (@write $s:ident, $field:ident or_default) => {
        (&$s.$field).into()
    };
}
pub(crate) use stored;

/// Whether a key can be stored at all: no stored key holds a NUL (PostgreSQL refuses them), so
/// a lookup of one finds nothing, on either backend alike.
pub(crate) fn storable(key: &str) -> bool {
    !key.contains('\0')
}

/// JSON text column to a value.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(StoreError::corrupt)
}

/// A protocol value (an algorithm or a claim family by name, a client id, a nonce; or an
/// optional one) from the text it is stored as, its serde string: a text it does not take is
/// a corrupt row.
pub(crate) fn from_text<T: serde::de::DeserializeOwned>(name: Option<String>) -> Result<T> {
    let value = name.map_or(serde_json::Value::Null, serde_json::Value::String);
    serde_json::from_value(value).map_err(StoreError::corrupt)
}

/// The text a protocol value is stored as (`None` for an optional one that is absent).
pub(crate) fn to_text<T: serde::Serialize>(value: &T) -> Option<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => Some(name),
        _ => None,
    }
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serializing plain data (strings, vectors, maps) cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// `UPDATE <table> SET <column> = <value>, ... WHERE <key> = <value>` for one record: every
/// column but `key` and those in `unchanged`.
pub(crate) fn update<'q, R: Record>(record: &'q R, key: &str, unchanged: &[&str]) -> Query<'q> {
    let mut q = query("UPDATE ").push(R::TABLE).push(" SET ");
    let mut key_value = None;
    let mut first = true;
    for (name, value) in record.fields() {
        if name == key {
            key_value = Some(value);
        } else if !unchanged.contains(&name) {
            q = q.push(if first { "" } else { ", " }).push(name).push(" = ");
            q = q.push_bind(value);
            first = false;
        }
    }
    q = q.push(" WHERE ").push(key).push(" = ");
    match key_value {
        Some(v) => q.push_bind(v),
        // A key that is not a column: `= NULL` matches no row, rather than every row.
        None => q.push("NULL"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three columns: an integer, a text and a null text.
    struct Row(i64, String, Option<String>);

    impl Record for Row {
        const TABLE: &'static str = "t";
        fn fields(&self) -> Vec<(&'static str, Value<'_>)> {
            let Row(a, b, c) = self;
            vec![("a", a.into()), ("b", b.into()), ("c", c.into())]
        }
    }

    fn row() -> Row {
        Row(1, "x".into(), None)
    }

    #[test]
    fn placeholders_are_numbered_after_the_arguments_so_far() {
        let q = query("SELECT $1, $2").bind(1).bind(2).push(" WHERE a = ");
        let q = q
            .push_bind(3)
            .push(" AND b IN ")
            .push_tuple([4.into(), 5.into()]);
        assert_eq!(q.sql(), "SELECT $1, $2 WHERE a = $3 AND b IN ($4, $5)");
        assert_eq!(q.args().len(), 5);
        let q = q.prepend("WITH w AS (").push(")");
        assert_eq!(
            q.sql(),
            "WITH w AS (SELECT $1, $2 WHERE a = $3 AND b IN ($4, $5))"
        );
    }

    #[test]
    fn insert_names_each_column_beside_its_value() {
        let r = row();
        let q = insert(&r);
        assert_eq!(q.sql(), "INSERT INTO t (a, b, c) VALUES ($1, $2, $3)");
        assert!(matches!(
            q.args(),
            [Value::Int(Some(1)), Value::Text(Some(_)), Value::Text(None)]
        ));
    }

    #[test]
    fn update_sets_all_but_the_key_and_the_unchanged() {
        let r = row();
        let q = update(&r, "a", &["c"]);
        assert_eq!(q.sql(), "UPDATE t SET b = $1 WHERE a = $2");
        assert!(matches!(
            q.args(),
            [Value::Text(Some(_)), Value::Int(Some(1))]
        ));
    }
}
