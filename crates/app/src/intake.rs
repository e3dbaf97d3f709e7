//! Group commit for order intake. Every order passes through a writer task that takes every order that
//! arrived while its previous transaction was committing and records them together with `record_batch`.
//! Under load a batch holds many orders and the per-order cost falls; when idle a batch holds one and adds
//! no delay. Should a batch meet interference (a duplicate, another writer's stock change, an error), each of
//! its orders is recorded alone, so batching never changes an answer.
//!
//! SQLite has one write connection, so one writer. PostgreSQL runs two, so that one's round trips overlap the
//! other's: a writer spends half its time waiting on them. Orders are given to a writer by buyer phone, so a
//! buyer's orders are still reviewed one after another, each seeing the ones before it (the review reads
//! history by phone); stock, shared by both, is reserved last and only if still there.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use codflow_domain::{Actor, NewOrder, ProductId, Sku};
use codflow_store::{Engine, KeptConn, Store, commit, rollback};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use std::sync::Arc;

use crate::orders::{IntakeOutcome, record_batch, record_one};
use crate::runtime::Ctx;
use crate::{Error, Result};

/// Most orders recorded in one transaction.
const MAX_BATCH: usize = 256;

/// Writers on PostgreSQL. More would queue on the stock rows every batch locks last.
const POSTGRES_WRITERS: usize = 2;

/// How long the writer keeps its connection with nothing to write (closing the store waits for it).
const KEEP_IDLE: std::time::Duration = std::time::Duration::from_millis(200);

struct Job {
    new: NewOrder,
    products: HashMap<Sku, ProductId>,
    actor: Actor,
    now: OffsetDateTime,
    reply: oneshot::Sender<Result<IntakeOutcome>>,
}

#[derive(Clone)]
pub struct IntakeQueue {
    writers: Arc<[mpsc::Sender<Job>]>,
}

impl IntakeQueue {
    /// Starts the writer tasks; must be called inside a tokio runtime.
    pub(crate) fn start(store: Store, ctx: Arc<Ctx>) -> IntakeQueue {
        let n = match store.engine() {
            Engine::Sqlite => 1,
            Engine::Postgres => POSTGRES_WRITERS,
        };
        let writers = (0..n)
            .map(|_| {
                let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
                tokio::spawn(run(store.clone(), ctx.clone(), rx));
                tx
            })
            .collect();
        IntakeQueue { writers }
    }

    /// The writer of every order of this buyer.
    fn writer_of(&self, phone: &str) -> &mpsc::Sender<Job> {
        let mut h = std::hash::DefaultHasher::new();
        phone.hash(&mut h);
        &self.writers[h.finish() as usize % self.writers.len()]
    }

    pub async fn submit(
        &self,
        new: NewOrder,
        products: HashMap<Sku, ProductId>,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Result<IntakeOutcome> {
        let (reply, answer) = oneshot::channel();
        let stopped = || Error::Unavailable("the server is stopping; try again".into());
        let writer = self.writer_of(new.buyer.phone.as_str());
        writer.send(Job { new, products, actor, now, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(store: Store, ctx: Arc<Ctx>, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    let mut kept: KeptConn = None;
    loop {
        let received = if kept.is_some() {
            // recv_many is cancel safe: a timeout loses no job.
            match tokio::time::timeout(KEEP_IDLE, rx.recv_many(&mut jobs, MAX_BATCH)).await {
                Ok(n) => n,
                Err(_) => {
                    kept = None;
                    continue;
                }
            }
        } else {
            rx.recv_many(&mut jobs, MAX_BATCH).await
        };
        if received == 0 {
            break;
        }
        let batch = std::mem::take(&mut jobs);
        let alone = if batch.len() == 1 { batch } else { record_together(&store, &mut kept, &ctx, batch).await };
        for job in alone {
            let result = record_one(&store, &ctx, job.new, &job.products, &job.actor, job.now).await;
            // The receiver may be gone (client disconnected); the order stands regardless.
            let _ = job.reply.send(result);
        }
    }
}

/// Records the whole batch in one transaction and answers every job. Gives the jobs back, having written
/// nothing, when they must be recorded one by one instead.
async fn record_together(store: &Store, kept: &mut KeptConn, ctx: &Ctx, batch: Vec<Job>) -> Vec<Job> {
    // Orders sharing a (store, external id) in one batch are concurrent duplicates: the single path
    // answers them correctly (one created, the others told it exists).
    let mut keys: Vec<(&str, &str)> =
        batch.iter().map(|j| (j.new.store.as_str(), j.new.external_id.as_str())).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return batch;
    }
    let mut products = HashMap::new();
    for j in &batch {
        products.extend(j.products.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let now = batch.iter().map(|j| j.now).max().unwrap_or_else(crate::now);
    let Ok(mut tx) = store.begin_kept(kept).await else {
        *kept = None;
        return batch;
    };
    let news: Vec<(NewOrder, &Actor)> = batch.iter().map(|j| (j.new.clone(), &j.actor)).collect();
    match record_batch(&mut tx, ctx, news, &products, now).await {
        Ok(Ok(created)) => {
            if commit(tx).await.is_err() {
                *kept = None;
                return batch;
            }
            ctx.wake.notify_one();
            for (job, order) in batch.into_iter().zip(created) {
                let _ = job.reply.send(Ok(IntakeOutcome::Created(order)));
            }
            Vec::new()
        }
        Ok(Err(_)) => {
            let _ = rollback(tx).await;
            batch
        }
        Err(_) => {
            let _ = rollback(tx).await;
            *kept = None;
            batch
        }
    }
}
