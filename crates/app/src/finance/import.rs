//! Statement import: a carrier's or platform's file read through its profile, matched, and recorded once.

use super::*;

impl Finance {
    /// Reads a statement file through a profile, matches it, and (unless previewing) records it once:
    /// the lines with their verdicts, the ledger entries, the shipments' cash states and a finance task per
    /// difference. A file imported before returns what it found then.
    pub async fn import_statement(&self, body: &[u8], req: ImportRequest, actor: Actor) -> Result<StatementReport> {
        self.import_statement_owned(body.to_vec(), req, actor).await
    }

    /// As [`App::import_statement`], taking the file: it is let go once parsed, so a large statement is
    /// not held twice while its lines are matched and written.
    pub async fn import_statement_owned(
        &self,
        body: Vec<u8>,
        req: ImportRequest,
        actor: Actor,
    ) -> Result<StatementReport> {
        let (profile, _) = self.settlement_profile(&req.profile).await?;
        let hash = crate::shops::hex(&Sha256::digest(&body));
        if let Some(done) = fstore::statement_by_hash(&mut *self.store.read().await?, &hash).await? {
            return self.report_of(done, true).await;
        }
        let carrier = req.carrier.clone().or_else(|| builtin_carrier(&profile.name).map(str::to_owned));
        if profile.kind != StatementKind::Payout && carrier.is_none() {
            return Err(Error::invalid("carrier", "name the carrier this statement comes from"));
        }
        let clock = std::time::Instant::now();
        tracing::debug!(phase = "start", rss_mib = rss_mib(), "statement import");
        let now = self.clock().now();
        let as_of = now.date();
        // A CSV is parsed on a blocking thread while the database loads the carrier's shipments: the two take
        // about as long and use different cores. A workbook is read whole before the write transaction opens:
        // inflating it and filling merged regions must never hold every other writer.
        let xlsx = codflow_sheets::is_xlsx(&body);
        // Whether the file names many parcels by their order's reference, from its first lines: then the
        // references are read with the parcels, beside the parsing, rather than looked up after it.
        let by_reference = !xlsx && names_by_reference(&profile, &body);
        let handle = {
            let profile = profile.clone();
            tokio::task::spawn_blocking(move || read_file(&profile, &body))
        };
        let parsing = if xlsx { Parsing::Done(joined(handle).await?) } else { Parsing::Running(handle) };
        let mut tx = self.store.begin().await?;
        let tol = tolerances(&mut tx).await?;
        let expected = match (profile.kind, carrier.as_deref()) {
            (StatementKind::CodRemittance, Some(c)) => {
                // Only a recording that moves cash by the standing as read needs it kept.
                let standing = !req.preview && fstore::settles_as_read(self.store.engine());
                Some(expected_of(&mut tx, c, as_of, standing, by_reference).await?)
            }
            _ => None,
        };
        let mut parsed = match parsing {
            Parsing::Done(parsed) => parsed,
            Parsing::Running(handle) => joined(handle).await?,
        };
        // A file none of whose lines could be read records nothing: it is refused with its lines' reasons.
        if parsed.lines.is_empty() {
            let mut e = codflow_domain::FieldErrors::default();
            e.push("file", "no line of the file could be read");
            for l in parsed.errors.iter().take(REPORT_LIMIT) {
                e.push(format!("line {}: {}", l.line, l.field), &l.message);
            }
            return Err(Error::Invalid(e));
        }
        tracing::debug!(
            phase = "read and loaded",
            ms = clock.elapsed().as_millis() as u64,
            rss_mib = rss_mib(),
            "statement import"
        );
        let mut evidence = Vec::new();
        let mut settling = fstore::Settling::default();
        let (matches, missing) = match (expected, profile.kind, carrier.as_deref()) {
            (Some((expected, standings)), _, Some(carrier)) => {
                let mut candidates = reconcile::Candidates::new(&expected);
                let wanted = if by_reference { Vec::new() } else { candidates.refs_unresolved(&parsed.lines) };
                let found = order_refs(&mut tx, carrier, &wanted, &expected).await?;
                candidates.add_order_refs(&found);
                let out = candidates.remittance(&parsed.lines, tol, as_of);
                if let Some(standings) = standings {
                    let paid = out.paid.iter().zip(&expected).enumerate().filter(|(_, (p, _))| **p);
                    settling = standings.settling(paid.map(|(i, (_, e))| (i, &e.shipment)));
                }
                (out.lines, out.missing)
            }
            (None, StatementKind::FreightInvoice, Some(carrier)) => {
                let booked = booked_of(&mut tx, carrier, &parsed.lines).await?;
                let rates = rstore::rates(&mut tx).await?;
                // A carrier invoicing in another currency than its card: each quote at the line's day's rate.
                let convert =
                    |m: Money, to: Currency, day: Option<Date>| convert_either(&rates, m, to, day.unwrap_or(as_of));
                let mut matches = Vec::with_capacity(parsed.lines.len());
                for (m, e) in invoice::audit_converting(&parsed.lines, &booked, tol, convert) {
                    if let (Some(e), Some(s)) = (e, m.shipment.clone()) {
                        evidence.push((m.line, s, e));
                    }
                    matches.push(m);
                }
                (matches, Vec::new())
            }
            _ => {
                let refs: Vec<&str> = parsed
                    .lines
                    .iter()
                    .filter_map(|l| l.reference.as_deref())
                    .flat_map(reconcile::reference_words)
                    .collect();
                let remitted: Vec<Remitted> = fstore::remitted_by_reference(&mut tx, &refs)
                    .await?
                    .into_iter()
                    .map(|(reference, net, paid_out)| Remitted { reference, net, paid_out })
                    .collect();
                reconcile::resolve_payout_references(&mut parsed.lines, &remitted);
                (reconcile::payouts(&parsed.lines, &remitted, tol), Vec::new())
            }
        };
        tracing::debug!(
            phase = "matched",
            ms = clock.elapsed().as_millis() as u64,
            rss_mib = rss_mib(),
            "statement import"
        );
        let id = StatementId::generate();
        let row = StatementRow {
            id: id.clone(),
            kind: profile.kind,
            profile: profile.name.clone(),
            carrier: carrier.clone(),
            file_name: req.file_name.clone(),
            content_hash: hash,
            lines: parsed.lines.len() as i64,
            errors: parsed.errors.len() as i64,
            as_of,
            imported_at: now,
            imported_by: actor.to_stored(),
        };
        let pairs = paired(&parsed.lines, &matches);
        let mut report = StatementReport {
            statement: None,
            already_imported: false,
            kind: profile.kind,
            profile: profile.name.clone(),
            carrier: carrier.clone(),
            lines: row.lines,
            error_count: row.errors,
            errors: parsed.errors.iter().take(REPORT_LIMIT).cloned().collect(),
            skipped: Some(parsed.skipped),
            classes: class_totals(&pairs),
            discrepancies: matches.iter().filter(|m| m.class.is_discrepancy()).take(REPORT_LIMIT).cloned().collect(),
            missing_count: missing.len() as i64,
            missing: missing
                .iter()
                .take(REPORT_LIMIT)
                .map(|m| (m.shipment.clone(), m.expected, m.due_on.to_string()))
                .collect(),
            tasks_opened: 0,
            claims_settled: 0,
        };
        if req.preview {
            return Ok(report);
        }
        if !fstore::insert_statement(&mut tx, &row).await? {
            // The same file was committed meanwhile by another request.
            drop(tx);
            let done = fstore::statement_by_hash(&mut *self.store.read().await?, &row.content_hash).await?;
            return self.report_of(done.ok_or(Error::NotFound("statement"))?, true).await;
        }
        fstore::insert_lines(&mut tx, &id, &pairs).await?;
        tracing::debug!(
            phase = "lines written",
            ms = clock.elapsed().as_millis() as u64,
            rss_mib = rss_mib(),
            "statement import"
        );
        fstore::insert_errors(&mut tx, &id, &parsed.errors).await?;
        fstore::insert_missing(&mut tx, &id, &missing).await?;
        let booked =
            if profile.kind == StatementKind::Payout { delivery_rates(&mut tx, &pairs).await? } else { HashMap::new() };
        let payout_entries = payout_plan(&pairs, &booked)?;
        let posted: Vec<Posted> = payout_entries
            .iter()
            .map(|(line, entry)| Posted {
                key: format!("pay:{id}:{line}"),
                entry,
                shipment: None,
                statement: Some(&id),
                carrier: None,
            })
            .collect();
        fstore::post(&mut tx, &posted, now).await?;
        tracing::debug!(
            phase = "ledger written",
            ms = clock.elapsed().as_millis() as u64,
            rss_mib = rss_mib(),
            "statement import"
        );
        if let (StatementKind::CodRemittance, Some(carrier)) = (profile.kind, carrier.as_deref()) {
            fstore::settle_from_lines(&mut tx, &id, carrier, &settling, now).await?;
        }
        let checks: Vec<(u32, &ShipmentId, &invoice::Evidence)> = evidence.iter().map(|(l, s, e)| (*l, s, e)).collect();
        fstore::insert_checks(&mut tx, &id, &checks).await?;
        tracing::debug!(
            phase = "cash states written",
            ms = clock.elapsed().as_millis() as u64,
            rss_mib = rss_mib(),
            "statement import"
        );
        let settled = match (profile.kind, carrier.as_deref()) {
            (StatementKind::CodRemittance, carrier) => {
                crate::claims::settle_from_remittance(&mut tx, &id, carrier, &pairs, now).await?
            }
            (StatementKind::FreightInvoice, Some(carrier)) => {
                crate::claims::settle_from_freight_invoice(&mut tx, &id, carrier, &pairs, now).await?
            }
            _ => Default::default(),
        };
        report.claims_settled = settled.len();
        let open: Vec<(&StatementLine, &LineMatch)> =
            pairs.iter().filter(|(l, _)| !settled.contains(&l.line)).copied().collect();
        let tasks = difference_tasks(&id, &open, now);
        let opened = tstore::open_many(&mut tx, &tasks).await?;
        report.tasks_opened = opened.len();
        let mut a = AuditRecord::change(
            "statement",
            id.to_string(),
            "import",
            None,
            Some(profile.kind.as_str().into()),
            actor,
            self.clock().now(),
        );
        a.reason = Some(format!(
            "{} ({} lines, {} refused, {} differences, {} missing)",
            req.file_name,
            row.lines,
            row.errors,
            matches.iter().filter(|m| m.class.is_discrepancy()).count(),
            missing.len()
        ));
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        tracing::debug!(
            phase = "committed",
            ms = clock.elapsed().as_millis() as u64,
            rss_mib = rss_mib(),
            "statement import"
        );
        report.statement = Some(row);
        Ok(report)
    }
}

/// The carrier's COD shipments as reconciliation expects them, with the COD terms of their channels, and
/// where each stands in the open-COD sums when the statement is to be recorded (`standing`). A card's fee
/// floor and cap are in the card's currency; each parcel's are in its COD currency at `day`'s rate (without
/// a rate, no floor or cap is assumed rather than a wrong one).
async fn expected_of(
    conn: &mut Conn,
    carrier: &str,
    day: Date,
    standing: bool,
    order_refs: bool,
) -> Result<(Vec<Expected>, Option<fstore::Standings>)> {
    let rates = rstore::rates(conn).await?;
    let cards: HashMap<String, (Currency, Option<codflow_domain::rating::CodFee>, i64)> = lstore::channels(conn)
        .await?
        .into_iter()
        .map(|c| (c.code.to_string(), (c.card.currency, c.card.cod_fee, c.settlement_cycle_days)))
        .collect();
    let default = CodTerms { fee_bp: 0, fee_min_minor: 0, fee_max_minor: None, cycle_days: 14 };
    let terms = |channel: &str, currency: Currency| {
        let Some(&(card, fee, cycle_days)) = cards.get(channel) else { return default };
        let conv = |minor: i64| convert_either(&rates, Money::new(minor, card), currency, day).map(|m| m.minor);
        CodTerms {
            fee_bp: fee.map_or(0, |f| f.bp),
            fee_min_minor: fee.and_then(|f| conv(f.min_minor)).unwrap_or(0),
            fee_max_minor: fee.and_then(|f| f.max_minor).and_then(conv),
            cycle_days,
        }
    };
    let mut standings = standing.then(fstore::Standings::default);
    // Parcels paid short before: what earlier statements paid toward them is looked up afterwards.
    let mut short: Vec<(usize, ShipmentId, Currency)> = Vec::new();
    let mut expected: Vec<Expected> = Vec::new();
    let mut at = 0;
    fstore::cod_shipments_into(conn, carrier, order_refs, &mut expected, |s| {
        if let Some(book) = standings.as_mut() {
            book.push(&s);
        }
        if s.cod_status == CodStatus::ShortPaid {
            short.push((at, s.shipment_id.clone(), s.cod.currency));
        }
        at += 1;
        Expected {
            terms: terms(&s.channel, s.cod.currency),
            remitted: matches!(s.cod_status, CodStatus::Remitted | CodStatus::PaidOut),
            received_minor: 0,
            shipment: s.shipment_id,
            tracking_number: s.tracking_number,
            // When not read with the parcel, looked up afterwards for the lines that need one (`order_refs`).
            order_ref: s.order_ref,
            cod: s.cod,
            delivered_on: s.delivered_at.map(|d| d.date()),
        }
    })
    .await?;
    let asked: Vec<(&ShipmentId, Currency)> = short.iter().map(|(_, id, c)| (id, *c)).collect();
    let received = fstore::received_toward(conn, &asked).await?;
    for (i, id, _) in &short {
        expected[*i].received_minor = received.get(id).copied().unwrap_or(0);
    }
    Ok((expected, standings))
}

/// Whether more than an eighth of the first thousand lines of a CSV statement name no tracking number but an
/// order reference.
fn names_by_reference(profile: &Profile, body: &[u8]) -> bool {
    let mut end = 0;
    for _ in 0..1_001 {
        match body[end..].iter().position(|b| *b == b'\n') {
            Some(i) => end += i + 1,
            None => break,
        }
    }
    let Ok(sample) = read_file(profile, &body[..end]) else { return false };
    let by_reference = sample.lines.iter().filter(|l| l.tracking_number.is_none() && l.order_ref.is_some()).count();
    by_reference * 8 > sample.lines.len()
}

/// The order references `wanted` among the carrier's parcels, as (position in `expected`, reference):
/// looked up one by one for a few, read for every parcel in one pass when the file names many by reference.
/// `expected` is in shipment id order, as [`fstore::cod_shipments`] reads it.
async fn order_refs(
    conn: &mut Conn,
    carrier: &str,
    wanted: &[&str],
    expected: &[Expected],
) -> Result<Vec<(usize, String)>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let found = if wanted.len() > expected.len() / 8 {
        let mut all = Vec::new();
        fstore::cod_shipments_into(conn, carrier, true, &mut all, |s| (s.shipment_id, s.order_ref)).await?;
        all
    } else {
        fstore::cod_order_refs(conn, carrier, wanted).await?
    };
    let at = |id: &ShipmentId| expected.binary_search_by(|e| e.shipment.as_str().cmp(id.as_str())).ok();
    Ok(found.into_iter().filter_map(|(id, r)| Some((at(&id)?, r))).collect())
}

/// The shipments an invoice names, each with the quote it was booked on (the booked channel's entry in the
/// order's ranking).
async fn booked_of(conn: &mut Conn, carrier: &str, lines: &[StatementLine]) -> Result<Vec<invoice::Booked>> {
    let tns: Vec<&str> = lines.iter().filter_map(|l| l.tracking_number.as_deref()).collect();
    let refs: Vec<&str> =
        lines.iter().filter(|l| l.tracking_number.is_none()).filter_map(|l| l.order_ref.as_deref()).collect();
    let rows = fstore::invoiced_shipments(conn, carrier, &tns, &refs).await?;
    Ok(rows
        .into_iter()
        .map(|s| {
            let choice: Option<ChannelChoice> = s.choice.as_deref().and_then(|c| serde_json::from_str(c).ok());
            let quote = choice.and_then(|c| {
                let r = c.ranking.into_iter().find(|r| r.channel == s.channel)?;
                Some(invoice::BookedQuote {
                    zone: r.zone,
                    billable_weight_g: r.billable_weight_g,
                    breakdown: r.breakdown?,
                    currency: Currency::parse(&r.currency).ok()?,
                })
            });
            invoice::Booked {
                shipment: s.shipment_id,
                tracking_number: s.tracking_number,
                order_ref: s.order_ref,
                declared_weight_g: s.weight_g,
                measured_weight_g: s.measured_weight_g,
                quote,
                invoiced: s.invoiced,
            }
        })
        .collect())
}

/// Each verdict beside its line. Both come in line order (the file's lines ascend; matching returns its
/// verdicts sorted by line), one verdict per line, so a merge pairs them without an index of a million lines.
fn paired<'a>(lines: &'a [StatementLine], matches: &'a [LineMatch]) -> Vec<(&'a StatementLine, &'a LineMatch)> {
    let ascending =
        lines.windows(2).all(|w| w[0].line < w[1].line) && matches.windows(2).all(|w| w[0].line < w[1].line);
    if !ascending {
        let by_line: HashMap<u32, &StatementLine> = lines.iter().map(|l| (l.line, l)).collect();
        return matches.iter().filter_map(|m| by_line.get(&m.line).map(|l| (*l, m))).collect();
    }
    let mut out = Vec::with_capacity(matches.len());
    let mut lines = lines.iter().peekable();
    for m in matches {
        while lines.next_if(|l| l.line < m.line).is_some() {}
        if let Some(l) = lines.next_if(|l| l.line == m.line) {
            out.push((l, m));
        }
    }
    out
}

fn pays_out(m: &LineMatch) -> bool {
    m.expected.is_some()
        && m.shipment.is_none()
        && matches!(m.class, LineClass::Matched | LineClass::ShortPaid | LineClass::OverPaid)
}

/// For each payout line converted into another currency, the rate its remittance was worth on its parcels'
/// delivery days (the ledger books the payout's gain or loss against it).
async fn delivery_rates(
    conn: &mut Conn,
    pairs: &[(&StatementLine, &LineMatch)],
) -> Result<HashMap<(String, Currency), FxRate>> {
    let converted: Vec<(&str, Currency, Currency)> = pairs
        .iter()
        .filter(|(_, m)| pays_out(m))
        .filter_map(|(l, _)| {
            let to = l.settled?.currency;
            (to != l.amount.currency).then_some((l.reference.as_deref()?, l.amount.currency, to))
        })
        .collect();
    if converted.is_empty() {
        return Ok(HashMap::new());
    }
    let refs: Vec<&str> = converted.iter().map(|(r, _, _)| *r).collect();
    let mut parts: HashMap<(String, Currency), Vec<(Money, Date)>> = HashMap::new();
    for (reference, net, day) in fstore::remitted_by_delivery_day(conn, &refs).await? {
        parts.entry((reference, net.currency)).or_default().push((net, day));
    }
    let rates = rstore::rates(conn).await?;
    let mut out = HashMap::new();
    for (reference, from, to) in converted {
        let Some(parts) = parts.get(&(reference.to_owned(), from)) else { continue };
        if let Some(rate) = ledger::delivery_rate(parts, to, &rates[..])? {
            out.insert((reference.to_owned(), from), rate);
        }
    }
    Ok(out)
}

/// A payout's entries: each line that pays a known remittance moves its cash to the bank, with the exchange
/// valued at the delivery days' rates when there are any.
fn payout_plan(
    pairs: &[(&StatementLine, &LineMatch)],
    booked: &HashMap<(String, Currency), FxRate>,
) -> Result<Vec<(u32, Entry)>> {
    let mut out = Vec::new();
    for (l, _) in pairs.iter().filter(|(_, m)| pays_out(m)) {
        let settled = l.settled.unwrap_or(l.net);
        let rate = l.reference.as_ref().and_then(|r| booked.get(&(r.clone(), l.amount.currency)));
        let e = Entry::paid_out(l.amount, l.fee, settled, rate)
            .map_err(|e| Error::invalid(&format!("lines[{}]", l.line), e.to_string()))?;
        out.push((l.line, e));
    }
    Ok(out)
}

/// Lines and amounts per class and currency, ordered by class and currency code.
fn class_totals(pairs: &[(&StatementLine, &LineMatch)]) -> Vec<ClassTotal> {
    let mut sums: HashMap<(LineClass, Currency), (i64, i64)> = HashMap::new();
    for (l, m) in pairs {
        let e = sums.entry((m.class, l.amount.currency)).or_insert((0, 0));
        e.0 += 1;
        e.1 += l.amount.minor;
    }
    let mut out: Vec<ClassTotal> = sums
        .into_iter()
        .map(|((class, currency), (lines, amount_minor))| ClassTotal { class, currency, lines, amount_minor })
        .collect();
    out.sort_by(|a, b| (a.class, a.currency.code()).cmp(&(b.class, b.currency.code())));
    out
}

/// A finance task per line that needs a decision (one per shipment at a time), and one for the lines that
/// name no shipment of ours.
fn difference_tasks(id: &StatementId, pairs: &[(&StatementLine, &LineMatch)], now: OffsetDateTime) -> Vec<Task> {
    let task = |shipment: Option<ShipmentId>, title: String| Task {
        id: TaskId::generate(),
        kind: AnomalyKind::SettlementDifference,
        shipment_id: shipment,
        order_id: None,
        role: Role::Finance,
        status: TaskStatus::Open,
        title,
        due_at: now + Duration::hours(72),
        assignee: None,
        opened_by: "reconciliation".into(),
        resolution: None,
        created_at: now,
        updated_at: now,
        closed_at: None,
    };
    let mut out = Vec::new();
    let mut unknown = 0;
    for (l, m) in pairs.iter().filter(|(_, m)| m.class.needs_decision()) {
        let Some(shipment) = m.shipment.clone() else {
            unknown += 1;
            continue;
        };
        let what = match (m.class, m.expected) {
            (LineClass::ShortPaid, Some(e)) => format!("short paid: {} of {}", l.amount, e),
            (LineClass::OverPaid, Some(e)) => format!("over paid: {} for {}", l.amount, e),
            (LineClass::FeeAboveContract, _) => format!(
                "COD fee {} above the contract's {}",
                l.fee,
                m.contract_fee.map_or_else(String::new, |f| f.to_string())
            ),
            (LineClass::CurrencyMismatch, Some(e)) => format!("paid in {} for {}", l.amount, e),
            (LineClass::Duplicate, _) => format!("paid or billed again: {}", l.amount),
            (LineClass::Overcharged, Some(e)) => format!("billed {} for a quote of {}", l.amount, e),
            (c, _) => c.as_str().to_owned(),
        };
        let tn = l.tracking_number.as_deref().or(l.order_ref.as_deref()).unwrap_or("");
        out.push(task(Some(shipment), format!("Settlement {id} line {}: {what} ({tn})", m.line)));
    }
    if unknown > 0 {
        out.push(task(None, format!("Settlement {id}: {unknown} lines name no shipment of ours")));
    }
    out
}

/// Resident memory now, for the import's phase log (Linux; 0 elsewhere).
fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096 / 1_048_576)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: u32) -> StatementLine {
        let sar = Currency::parse("SAR").unwrap();
        StatementLine {
            line: n,
            tracking_number: Some(format!("T{n}")),
            order_ref: None,
            reference: None,
            date: None,
            amount: Money::new(100, sar),
            fee: Money::zero(sar),
            freight: Money::zero(sar),
            other: Money::zero(sar),
            net: Money::new(100, sar),
            fx_rate: None,
            settled: None,
            billed_weight_g: None,
            zone: None,
        }
    }

    fn verdict(n: u32) -> LineMatch {
        LineMatch {
            line: n,
            class: LineClass::UnknownReference,
            shipment: None,
            expected: None,
            difference: None,
            contract_fee: None,
        }
    }

    #[test]
    fn every_verdict_is_paired_with_its_own_line_in_order_or_not() {
        let lines: Vec<StatementLine> = [2, 3, 5, 8].map(line).to_vec();
        let verdicts: Vec<LineMatch> = [2, 3, 5, 8].map(verdict).to_vec();
        let got: Vec<(u32, u32)> = paired(&lines, &verdicts).iter().map(|(l, m)| (l.line, m.line)).collect();
        assert_eq!(got, vec![(2, 2), (3, 3), (5, 5), (8, 8)]);
        // Lines out of order (never from a file, but not assumed): still each with its own.
        let shuffled: Vec<StatementLine> = [5, 2, 8, 3].map(line).to_vec();
        let got: Vec<(u32, u32)> = paired(&shuffled, &verdicts).iter().map(|(l, m)| (l.line, m.line)).collect();
        assert_eq!(got, vec![(2, 2), (3, 3), (5, 5), (8, 8)]);
    }
}
