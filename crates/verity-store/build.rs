//! `sqlx::migrate!` embeds the migration folders when this crate compiles: rebuild it when one
//! changes (sqlx's advice; without it, an added migration is missing from an incremental build).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
