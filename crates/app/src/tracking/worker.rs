//! The tracking worker: polls the carriers that are due and sweeps the anomaly deadlines that have passed.

use super::*;

/// Shipments a sweep evaluates per transaction.
pub(crate) const SWEEP_CHUNK: i64 = 2000;

/// Evaluates up to `limit` shipments whose next deadline has passed, then up to `limit` more of a pending
/// re-evaluation pass. Returns how many it looked at.
pub(crate) async fn sweep_once(store: &Store, now: OffsetDateTime, limit: i64) -> Result<(usize, IngestReport)> {
    let mut tx = store.begin().await?;
    let settings = settings(&mut tx).await?;
    let mut due = store::due_locked(&mut tx, now, limit).await?;
    let seen: HashSet<ShipmentId> = due.iter().map(|t| t.shipment_id.clone()).collect();
    due.extend(
        store::next_reevaluation(&mut tx, limit, now).await?.into_iter().filter(|t| !seen.contains(&t.shipment_id)),
    );
    let n = due.len();
    let mut report = IngestReport::default();
    let mut out = Changes { deadlines_only: true, ..Changes::default() };
    for mut t in due {
        let before = (t.fired.clone(), t.due_at);
        evaluate(&mut t, &settings, now, &mut out);
        // Most of a re-evaluation pass finds nothing new; those rows are not written at all.
        if (&t.fired, t.due_at) != (&before.0, before.1) {
            out.tracked.push(t);
        }
    }
    out.write(&mut tx, now, &mut report).await?;
    report.tasks_opened += crate::floor::returns::open_overdue_tasks(&mut tx, now).await?;
    report.tasks_opened += crate::claims::open_deadline_tasks(&mut tx, now).await?;
    commit(tx).await?;
    Ok((n, report))
}

/// Polls up to `limit` shipments that are due, through their carriers, and applies what they report.
pub(crate) async fn poll_once(
    store: &Store,
    carriers: &crate::booking::Carriers,
    now: OffsetDateTime,
    limit: i64,
) -> Result<usize> {
    let claimed = {
        let mut tx = store.begin().await?;
        let c = store::claim_polls(&mut tx, now, now + Duration::minutes(5), limit).await?;
        commit(tx).await?;
        c
    };
    if claimed.is_empty() {
        return Ok(0);
    }
    // One connector per carrier for the round: the one given at start, else the carrier's first stored account.
    let mut connectors = std::collections::HashMap::new();
    {
        let mut conn = store.read().await?;
        for t in &claimed {
            if !connectors.contains_key(&t.carrier) {
                connectors.insert(t.carrier.clone(), carriers.resolve(&mut conn, &t.carrier, None).await?);
            }
        }
    }
    let connectors = &connectors;
    let results = join_all(claimed.iter().map(|t| async move {
        match &connectors[&t.carrier] {
            Ok(c) => c.track(&t.tracking_number).await,
            Err(e) => Err(e.clone()),
        }
    }))
    .await;
    let mut events = Vec::new();
    let mut failed = HashSet::new();
    for (t, r) in claimed.iter().zip(results) {
        match r {
            Ok(evs) => events.extend(evs.into_iter().map(IncomingEvent::from)),
            Err(e) => {
                tracing::warn!(tracking = %t.tracking_number, error = %e, "tracking poll failed");
                failed.insert(t.shipment_id.clone());
            }
        }
    }
    let mut tx = store.begin().await?;
    let settings = settings(&mut tx).await?;
    ingest_in(&mut tx, &settings, &events, "poll", now).await?;
    let ids: Vec<ShipmentId> = claimed.iter().map(|t| t.shipment_id.clone()).collect();
    for t in store::by_ids(&mut tx, &ids).await? {
        let (next, errors) = if failed.contains(&t.shipment_id) {
            let errors = t.poll_errors + 1;
            let backoff = Duration::minutes(5 * (1i64 << errors.clamp(1, 8)));
            (Some(now + backoff.min(settings.poll_every * 4)), errors)
        } else {
            (settings.next_poll(&t, now), 0)
        };
        store::set_poll(&mut tx, &t.shipment_id, next, errors).await?;
    }
    commit(tx).await?;
    Ok(claimed.len())
}

/// The tracking worker: polls and sweeps what is due, then waits a little or until rung.
pub(crate) async fn run_worker(
    store: Store,
    carriers: Arc<crate::booking::Carriers>,
    ctx: Arc<crate::runtime::Ctx>,
    mut stop: crate::workers::Stop,
) {
    while !stop.requested() {
        let now = ctx.clock.now();
        let polled = poll_once(&store, &carriers, now, 50).await;
        let swept = sweep_once(&store, now, SWEEP_CHUNK).await;
        if let Err(e) = &polled {
            tracing::error!(error = %e, "tracking poller");
        }
        if let Err(e) = &swept {
            tracing::error!(error = %e, "anomaly sweep");
        }
        if matches!(polled, Ok(n) if n > 0) || matches!(swept, Ok((n, _)) if n > 0) {
            continue;
        }
        if stop.pause(StdDuration::from_secs(1), Some(&ctx.track)).await {
            break;
        }
    }
}
