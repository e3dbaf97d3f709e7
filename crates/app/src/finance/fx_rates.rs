//! Exchange rates imported from a file.

use super::files::csv_rows;
use super::*;

/// What an exchange-rate file did: the rates written (a pair's rate for a day is replaced) and the lines
/// refused.
#[derive(Clone, Debug)]
pub struct FxImport {
    pub imported: usize,
    pub errors: Vec<LineError>,
}

impl Finance {
    /// Imports exchange rates from a CSV file (`from,to,as_of,rate[,source]`); good lines land even when
    /// others are refused, and importing the same file again changes nothing.
    pub async fn import_fx_rates(&self, body: &[u8], file_name: &str, actor: Actor) -> Result<FxImport> {
        let mut refused = Vec::new();
        let read = if codflow_sheets::is_xlsx(body) {
            let rows = codflow_sheets::xlsx_rows(body, '.').map_err(|e| Error::invalid("file", e.to_string()))?;
            fx::read_rates(rows, file_name)
        } else {
            fx::read_rates(csv_rows(body, None, 0, &mut refused), file_name)
        };
        let (rates, mut errors) = read.map_err(|e| Error::invalid("file", e.to_string()))?;
        errors.extend(refused);
        errors.sort_by_key(|e| e.line);
        if rates.is_empty() {
            let mut e = codflow_domain::FieldErrors::default();
            e.push("file", "no exchange rate could be read");
            for l in errors.iter().take(REPORT_LIMIT) {
                e.push(format!("line {}: {}", l.line, l.field), &l.message);
            }
            return Err(Error::Invalid(e));
        }
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        for r in &rates {
            rstore::put_rate(&mut tx, r, now).await?;
        }
        rstore::bump_review_generation(&mut tx, now).await?;
        let mut a = AuditRecord::change("fx_rates", file_name.to_owned(), "import", None, None, actor, now);
        a.reason = Some(format!("{} rates, {} lines refused", rates.len(), errors.len()));
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        self.ctx.review.invalidate();
        Ok(FxImport { imported: rates.len(), errors })
    }
}
