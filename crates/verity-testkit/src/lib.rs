//! Test support shared by the integration tests of every crate (a dev-dependency only).
//!
//! [`PgTestDb`]: a fresh PostgreSQL database for one test on the server named by
//! `VERITY_TEST_DATABASE_URL` (`.ci/run` sets it), dropped with its connections when the guard
//! goes, also when the test panics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

/// The environment variable naming the PostgreSQL server tests may create databases on.
pub const ADMIN_URL_ENV: &str = "VERITY_TEST_DATABASE_URL";

/// The admin URL, when tests should use PostgreSQL.
pub fn admin_url() -> Option<String> {
    std::env::var(ADMIN_URL_ENV).ok().filter(|u| !u.is_empty())
}

/// A PostgreSQL database made for one test; dropping the guard drops the database.
#[derive(Debug)]
pub struct PgTestDb {
    /// The database's URL (the admin URL with this database's name).
    pub url: String,
    admin_url: String,
    name: String,
}

impl PgTestDb {
    /// A new empty database named `<prefix>_<random hex>`; `None` without [`ADMIN_URL_ENV`].
    pub async fn create(prefix: &str) -> Option<Self> {
        Some(Self::create_on(admin_url()?, prefix).await)
    }

    /// A new empty database on the server of `admin_url`.
    pub async fn create_on(admin_url: String, prefix: &str) -> Self {
        let name = format!("{prefix}_{}", verity_core::secret::new_token());
        execute_on(&admin_url, &format!("CREATE DATABASE {name}")).await;
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&format!("/{name}"));
        PgTestDb {
            url: url.to_string(),
            admin_url,
            name,
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside the test's runtime (or while it unwinds): the async work gets a
        // thread and a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            rt.block_on(execute_on(&admin_url, &statement));
        })
        .join();
        if dropped.is_err() && !std::thread::panicking() {
            panic!("dropping the test database {} failed", self.name);
        }
    }
}

/// Runs one statement (`CREATE DATABASE`, `DROP DATABASE`) on its own admin connection.
async fn execute_on(admin_url: &str, statement: &str) {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(admin_url).await.unwrap();
    sqlx::query(statement).execute(&mut admin).await.unwrap();
    admin.close().await.unwrap();
}
