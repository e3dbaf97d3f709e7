//! API tests: each spawns the app on port 0 with a fresh database, on SQLite and on PostgreSQL.

mod helpers;

mod auth;
mod bad_input;
mod catalogue;
mod concurrency;
mod imports;
mod orders;
mod system;

/// Runs each named `async fn(Engine)` of the enclosing module once per engine.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_sqlite() {
                    super::$name(codflow_store::Engine::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_postgres() {
                    super::$name(codflow_store::Engine::Postgres).await
                }
            }
        )*
    };
}
