//! Fresh, throwaway databases for tests: every test gets its own SQLite file or PostgreSQL database, so
//! tests never share state and can run in parallel.

use std::path::PathBuf;

use sqlx::{Connection, Executor, PgConnection};

use crate::Engine;

/// The server tests create their PostgreSQL databases on (`CODFLOW_TEST_PG` overrides it).
pub fn postgres_admin_url() -> String {
    std::env::var("CODFLOW_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that is removed when dropped.
pub struct TestDb {
    pub url: String,
    engine: Engine,
    name: String,
    dir: Option<PathBuf>,
}

fn unique_name() -> String {
    format!("codflow_t_{}", codflow_domain::ids::new_id_body())
}

impl TestDb {
    pub async fn new(engine: Engine) -> TestDb {
        let name = unique_name();
        match engine {
            Engine::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = format!("sqlite://{}", dir.join("codflow.db").display());
                TestDb { url, engine, name, dir: Some(dir) }
            }
            Engine::Postgres => {
                let admin = postgres_admin_url();
                let mut conn = PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed for this test: {e}"));
                conn.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create database");
                let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(admin);
                TestDb { url: format!("{base}/{name}"), engine, name, dir: None }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if self.engine == Engine::Postgres {
            let name = self.name.clone();
            // Drop runs inside the test's runtime; a plain thread with its own runtime avoids blocking it.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(mut c) = PgConnection::connect(&postgres_admin_url()).await {
                            let _ = c.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// Turns each named `async fn(Engine)` of the calling module into two tests, one per engine, each of which
/// is expected to make its own fresh database.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_sqlite() {
                    super::$name($crate::Engine::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_postgres() {
                    super::$name($crate::Engine::Postgres).await
                }
            }
        )*
    };
}
