//! Many rows in few statements: multi-row inserts, keyed multi-row updates and lookups of many keys, chunked
//! under both engines' parameter limits, with the placeholders each engine reads; on PostgreSQL an insert's
//! rows travel as one JSON parameter instead (see [`JsonInsert`]). Every store module that writes in bulk goes
//! through here.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::Result;
use crate::db::pow2_chunks;

/// A value for a multi-row insert: the few column types the schema uses.
#[derive(Clone, Debug)]
pub enum Val {
    Int(i64),
    Text(String),
    OptText(Option<String>),
    OptInt(Option<i64>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_owned())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Val::OptInt(v)
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        Val::OptText(v)
    }
}

/// A table's row by column name: the struct's fields are the columns, in the order `COLUMNS` lists them and
/// `push_vals` writes them, so a bulk insert or update names each value once and its width is counted, not
/// written by hand.
macro_rules! row {
    ($(#[$doc:meta])* $name:ident { $first:ident : $fty:ty $(, $col:ident : $ty:ty)* $(,)? }) => {
        $(#[$doc])*
        pub(crate) struct $name {
            pub(crate) $first: $fty,
            $(pub(crate) $col: $ty,)*
        }

        #[allow(dead_code)]
        impl $name {
            pub(crate) const COLUMNS: &'static [&'static str] = &[stringify!($first) $(, stringify!($col))*];
            /// The columns as a select or insert list.
            pub(crate) const LIST: &'static str = concat!(stringify!($first) $(, ", ", stringify!($col))*);

            pub(crate) fn push_vals(self, out: &mut Vec<$crate::bulk::Val>) {
                out.push(self.$first.into());
                $(out.push(self.$col.into());)*
            }

            /// `UPDATE {table} SET col = $2, … WHERE {key} = $1`: these columns of one row, its key bound first.
            pub(crate) fn update_sql(table: &str, key: &str) -> String {
                let set: Vec<String> =
                    Self::COLUMNS.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 2)).collect();
                format!("UPDATE {table} SET {} WHERE {key} = $1", set.join(", "))
            }
        }
    };
}
pub(crate) use row;

/// Both engines cap the parameters of one statement (SQLite at 32766); stay well under.
const MAX_PARAMS: usize = 30_000;

/// `INSERT {head} VALUES (...), (...) {tail}` over rows of `width` values, in as few statements as the
/// parameter limit allows. Returns the rows of a RETURNING clause, if `tail` has one.
pub async fn insert_values(conn: &mut AnyConnection, head: &str, tail: &str, vals: Vec<Val>) -> Result<Vec<AnyRow>> {
    let width = width_of(head)?;
    let mut out = Vec::new();
    if crate::db::Engine::of(conn) == crate::db::Engine::Postgres {
        let insert = JsonInsert::of(head, tail, 1)?;
        for rows in json_chunks(&vals, &insert.columns) {
            out.extend(sqlx::query(&insert.sql).bind(rows?).fetch_all(&mut *conn).await?);
        }
        return Ok(out);
    }
    for (sql, chunk) in statements(conn, &vals, width, |g| format!("INSERT {head} VALUES {g} {tail}")) {
        out.extend(bind_all(sqlx::query(&sql), chunk).fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// The columns `INTO table (a, b, c)` names: each row's width, counted from the statement itself so it cannot
/// disagree with it.
fn width_of(head: &str) -> Result<usize> {
    let cols = head.split_once('(').and_then(|(_, rest)| rest.split_once(')')).map(|(cols, _)| cols);
    match cols {
        Some(cols) if !cols.trim().is_empty() => Ok(cols.split(',').count()),
        _ => Err(crate::Error::Corrupt(format!("a bulk insert without a column list: {head}"))),
    }
}

/// One statement per power-of-two chunk of `vals` (rows of `width`), `sql` given the chunk's value groups.
fn statements<'v>(
    conn: &AnyConnection,
    vals: &'v [Val],
    width: usize,
    sql: impl Fn(&str) -> String,
) -> Vec<(String, &'v [Val])> {
    // Most chunks have the largest power of two of rows: their text is written once.
    let mut written: Vec<(usize, String)> = Vec::new();
    let mut text = |n: usize| match written.iter().find(|(m, _)| *m == n) {
        Some((_, t)) => t.clone(),
        None => {
            let t = sql(&value_groups(conn, n, width));
            written.push((n, t.clone()));
            t
        }
    };
    row_chunks(vals, width).into_iter().map(|c| (text(c.len()), c)).collect()
}

/// As [`insert_values`] without reading anything back: returns the rows inserted.
pub async fn insert_values_counted(conn: &mut AnyConnection, head: &str, tail: &str, vals: Vec<Val>) -> Result<u64> {
    let width = width_of(head)?;
    if crate::db::Engine::of(conn) == crate::db::Engine::Postgres {
        let insert = JsonInsert::of(head, tail, 1)?;
        let mut changed = 0;
        for rows in json_chunks(&vals, &insert.columns) {
            changed += sqlx::query(&insert.sql).bind(rows?).execute(&mut *conn).await?.rows_affected();
        }
        return Ok(changed);
    }
    execute_values(conn, width, vals, |g| format!("INSERT {head} VALUES {g} {tail}")).await
}

/// Several bulk inserts, each `(INTO table (cols), rows)`, in the caller's transaction. On PostgreSQL in one
/// statement, each insert a data-modifying CTE (foreign keys between them are checked at its end), so a
/// batch's lines, reservations and audit records cost one round trip; on SQLite one after another, as
/// [`insert_values`] does. When one of them has more rows than a statement carries, each goes on its own.
pub async fn insert_many(conn: &mut AnyConnection, inserts: Vec<(&str, Vec<Val>)>) -> Result<()> {
    if inserts.is_empty() {
        return Ok(());
    }
    if crate::db::Engine::of(conn) == crate::db::Engine::Postgres {
        let parts: Vec<(&str, &str, &[Val])> = inserts.iter().map(|(h, v)| (*h, "", &v[..])).collect();
        if together(conn, &parts, false).await?.is_some() {
            return Ok(());
        }
    }
    for (head, vals) in inserts {
        insert_values_counted(conn, head, "", vals).await?;
    }
    Ok(())
}

/// PostgreSQL: several bulk inserts `(INTO table (cols), tail, rows)` as one statement, each a CTE named
/// `i0`, `i1`, … that a later one's tail may read (`WHERE order_id IN (SELECT id FROM i0)`). When `counted`,
/// returns how many rows the first insert's tail returns (give it `RETURNING`). None, having sent nothing,
/// when one of them has more rows than a statement carries.
pub(crate) async fn together(
    conn: &mut AnyConnection,
    inserts: &[(&str, &str, &[Val])],
    counted: bool,
) -> Result<Option<u64>> {
    let mut parts = Vec::with_capacity(inserts.len());
    for (i, (head, tail, vals)) in inserts.iter().enumerate() {
        let p = JsonInsert::of(head, tail, i + 1)?;
        if vals.len() > MAX_PARAMS / p.columns.len() * p.columns.len() {
            return Ok(None);
        }
        parts.push(p);
    }
    let ctes: Vec<String> = parts.iter().enumerate().map(|(i, p)| format!("i{i} AS ({})", p.sql)).collect();
    let count = if counted { "(SELECT COUNT(*) FROM i0)" } else { "CAST(0 AS BIGINT)" };
    let sql = format!("WITH {} SELECT {count} AS n", ctes.join(", "));
    let mut q = sqlx::query(&sql);
    for ((_, _, vals), p) in inserts.iter().zip(&parts) {
        q = q.bind(json_rows(vals, &p.columns)?);
    }
    let n: i64 = sqlx::Row::try_get(&q.fetch_one(&mut *conn).await?, "n")?;
    Ok(Some(n as u64))
}

/// A bulk insert on PostgreSQL: `INSERT INTO t (cols) SELECT cols FROM json_populate_recordset(NULL::t, $1)`,
/// every row an object keyed by column in one JSON parameter. One statement of one shape however many rows, so
/// one round trip and one cached plan: a `VALUES` list is a statement of its own for each row count, and the
/// power-of-two pieces that keep their number down cost two or three round trips for a batch of twenty.
/// The table's own row type gives each value its column's type, as binding it to the column did.
struct JsonInsert {
    sql: String,
    columns: Vec<String>,
}

impl JsonInsert {
    /// From `INTO table (a, b, c)` and what follows the rows (`ON CONFLICT …`, `RETURNING …`), the rows
    /// bound as parameter `$param`.
    fn of(head: &str, tail: &str, param: usize) -> Result<JsonInsert> {
        let corrupt = || crate::Error::Corrupt(format!("a bulk insert this store cannot read: {head}"));
        let (table, rest) = head.trim().strip_prefix("INTO ").and_then(|h| h.split_once('(')).ok_or_else(corrupt)?;
        let (cols, _) = rest.split_once(')').ok_or_else(corrupt)?;
        let table = table.trim();
        let columns: Vec<String> = cols.split(',').map(|c| c.trim().to_owned()).collect();
        let named = |c: &String| !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if table.is_empty() || !columns.iter().all(named) {
            return Err(corrupt());
        }
        let list = columns.join(", ");
        let sql = format!(
            "INSERT INTO {table} ({list}) SELECT {list} FROM json_populate_recordset(NULL::{table}, ${param}::text::json) {tail}"
        );
        Ok(JsonInsert { sql, columns })
    }
}

/// `vals` (rows as wide as `columns`) as JSON arrays of row objects, each within the parameter budget a
/// `VALUES` statement would have had (a megabyte or so of text).
fn json_chunks<'v>(vals: &'v [Val], columns: &'v [String]) -> impl Iterator<Item = Result<String>> + 'v {
    let per = (MAX_PARAMS / columns.len()).max(1) * columns.len();
    vals.chunks(per).map(move |chunk| json_rows(chunk, columns))
}

/// `vals` (rows as wide as `columns`) as one JSON array of objects keyed by column, for PostgreSQL's
/// `json_populate_recordset` and `json_to_recordset`.
pub(crate) fn json_rows<C: AsRef<str>>(vals: &[Val], columns: &[C]) -> Result<String> {
    let keys: Vec<String> = columns.iter().map(|c| format!("\"{}\":", c.as_ref())).collect();
    let mut out = Vec::with_capacity(vals.len() * 24 + 2);
    out.push(b'[');
    for (i, v) in vals.iter().enumerate() {
        let c = i % keys.len();
        out.extend_from_slice(match (c, i) {
            (0, 0) => b"{",
            (0, _) => b"},{",
            _ => b",",
        });
        out.extend_from_slice(keys[c].as_bytes());
        match v {
            Val::Int(n) | Val::OptInt(Some(n)) => {
                use std::io::Write;
                let _ = write!(out, "{n}");
            }
            Val::Text(t) | Val::OptText(Some(t)) => serde_json::to_writer(&mut out, t)
                .map_err(|e| crate::Error::Corrupt(format!("a value JSON cannot carry: {e}")))?,
            Val::OptText(None) | Val::OptInt(None) => out.extend_from_slice(b"null"),
        }
    }
    out.extend_from_slice(if vals.is_empty() { b"]" } else { b"}]" });
    // Only UTF-8 was written: the strings as they were, escaped, and ASCII around them.
    String::from_utf8(out).map_err(|e| crate::Error::Corrupt(e.to_string()))
}

/// `WITH {cte} AS (VALUES (...), (...)) {select}` over rows of `width` values, in as few statements as the
/// parameter limit allows: a lookup of many keys at once.
pub async fn select_values(
    conn: &mut AnyConnection,
    cte: &str,
    select: &str,
    width: usize,
    vals: Vec<Val>,
) -> Result<Vec<AnyRow>> {
    let mut out = Vec::new();
    for (sql, chunk) in statements(conn, &vals, width, |g| format!("WITH {cte} AS (VALUES {g}) {select}")) {
        out.extend(bind_all(sqlx::query(&sql), chunk).fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// `sql(groups)` over rows of `width` values, in as few statements as the parameter limit allows: a
/// statement of the caller's own over a `VALUES` list. Returns the rows changed.
pub async fn execute_values(
    conn: &mut AnyConnection,
    width: usize,
    vals: Vec<Val>,
    sql: impl Fn(&str) -> String,
) -> Result<u64> {
    let stmts = statements(conn, &vals, width, sql);
    if let [(sql, chunk)] = &stmts[..] {
        return Ok(bind_all(sqlx::query(sql), chunk).execute(&mut *conn).await?.rows_affected());
    }
    let mut stmts = stmts.iter().map(|(sql, chunk)| bind_all(sqlx::query(sql), chunk));
    let mut changed = 0;
    let mut next = stmts.next();
    while let Some(current) = next {
        // The database runs one statement on its own thread while this one binds the next: binding a
        // thousand rows' values costs about half what the database takes to insert them. `join!` polls the
        // statement first, so it is handed over before the binding starts.
        let (done, bound) = tokio::join!(current.execute(&mut *conn), async { stmts.next() });
        changed += done?.rows_affected();
        next = bound;
    }
    Ok(changed)
}

/// Sets `cols` of many rows of `table`, each found by `key`, in as few statements as the parameter limit
/// allows: each row is `width = 1 + cols.len()` values, the key first. Returns the rows changed.
pub async fn update_values(
    conn: &mut AnyConnection,
    table: &str,
    key: &str,
    cols: &[&str],
    vals: Vec<Val>,
) -> Result<u64> {
    let width = cols.len() + 1;
    let names = std::iter::once(key).chain(cols.iter().copied()).collect::<Vec<_>>().join(", ");
    let set = cols.iter().map(|c| format!("{c} = v.{c}")).collect::<Vec<_>>().join(", ");
    execute_values(conn, width, vals, |g| {
        format!("WITH v ({names}) AS (VALUES {g}) UPDATE {table} SET {set} FROM v WHERE {table}.{key} = v.{key}")
    })
    .await
}

/// `vals` (rows of `width`) in statements of power-of-two rows within the parameter limit.
fn row_chunks(vals: &[Val], width: usize) -> Vec<&[Val]> {
    let rows = vals.len() / width;
    let mut out = Vec::new();
    let mut start = 0;
    for piece in pow2_chunks(&vals[..rows], (MAX_PARAMS / width).max(1)) {
        out.push(&vals[start * width..(start + piece.len()) * width]);
        start += piece.len();
    }
    out
}

/// `(p, p), (p, p)` for `n` values in rows of `width`.
fn value_groups(conn: &AnyConnection, n: usize, width: usize) -> String {
    // SQLite keeps numbered (`$N`, `?N`) parameters in a list that binding searches linearly per
    // parameter, so a statement with thousands of them binds in quadratic time; anonymous `?` are bound
    // by position and stay linear.
    let numbered = crate::db::Engine::of(conn) != crate::db::Engine::Sqlite;
    let mut groups = String::with_capacity(n * 8);
    for i in 0..n {
        groups.push_str(match (i % width, i) {
            (0, 0) => "(",
            (0, _) => "), (",
            _ => ", ",
        });
        if numbered {
            groups.push('$');
            groups.push_str(&(i + 1).to_string());
        } else {
            groups.push('?');
        }
    }
    groups.push(')');
    groups
}

/// Runs one statement with `vals` bound in order.
pub(crate) async fn execute(conn: &mut AnyConnection, sql: &str, vals: &[Val]) -> Result<u64> {
    Ok(bind_all(sqlx::query(sql), vals).execute(conn).await?.rows_affected())
}

/// Binds `vals` in order to a statement built with as many placeholders.
pub(crate) fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    vals: &'q [Val],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for v in vals {
        q = match v {
            Val::Int(i) => q.bind(*i),
            Val::Text(t) => q.bind(t.as_str()),
            Val::OptText(t) => q.bind(t.as_deref()),
            Val::OptInt(i) => q.bind(*i),
        };
    }
    q
}
