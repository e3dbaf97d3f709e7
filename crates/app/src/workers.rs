//! The background workers of one process (booking, tracking, the outbox, shop pushes and pulls, the dashboards'
//! refresher), started once and stopped together. A worker looks for the stop only between rounds, so what it
//! has claimed (a booking at the carrier, a batch of messages) is finished and recorded before it returns.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

/// The stop signal as one worker sees it.
#[derive(Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    pub fn requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits up to `idle`, or until `wake` rings; true when the process is stopping.
    pub async fn pause(&mut self, idle: Duration, wake: Option<&Notify>) -> bool {
        if self.requested() {
            return true;
        }
        let rung = async {
            match wake {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.0.changed() => {}
            _ = tokio::time::sleep(idle) => {}
            _ = rung => {}
        }
        self.requested()
    }
}

/// Every worker of the process and the switch that stops them.
pub struct Workers {
    stop: watch::Sender<bool>,
    running: Mutex<Running>,
}

#[derive(Default)]
struct Running {
    set: JoinSet<&'static str>,
    names: HashMap<tokio::task::Id, &'static str>,
}

impl Default for Workers {
    fn default() -> Self {
        Workers { stop: watch::channel(false).0, running: Mutex::new(Running::default()) }
    }
}

impl Workers {
    /// Starts `work` under the supervisor; it gets the stop signal to look at between rounds. Must be called
    /// inside a tokio runtime.
    pub fn spawn<F>(&self, name: &'static str, work: impl FnOnce(Stop) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let job = work(Stop(self.stop.subscribe()));
        if let Ok(mut running) = self.running.lock() {
            let handle = running.set.spawn(async move {
                job.await;
                name
            });
            running.names.insert(handle.id(), name);
        }
    }

    /// Tells every worker to stop and waits for them to finish their round, up to `deadline`. Returns the
    /// names of those still running then (they are aborted).
    pub async fn stop(&self, deadline: Duration) -> Vec<&'static str> {
        let _ = self.stop.send(true);
        let Running { set: mut running, names } = match self.running.lock() {
            Ok(mut r) => std::mem::take(&mut *r),
            Err(_) => return Vec::new(),
        };
        let all_done = async {
            while let Some(r) = running.join_next().await {
                match r {
                    Ok(name) => tracing::info!(worker = name, "stopped"),
                    Err(e) if e.is_panic() => tracing::error!(error = %e, "a worker had panicked"),
                    Err(_) => {}
                }
            }
        };
        if tokio::time::timeout(deadline, all_done).await.is_ok() {
            return Vec::new();
        }
        running.abort_all();
        let mut left = Vec::new();
        while let Some(r) = running.join_next_with_id().await {
            match r {
                Ok((_, name)) => tracing::info!(worker = name, "stopped"),
                Err(e) => left.extend(names.get(&e.id()).copied()),
            }
        }
        tracing::warn!(?left, "workers still running at the shutdown deadline were aborted");
        left
    }

    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_worker_finishes_its_round_then_stops_and_a_stuck_one_is_named_at_the_deadline() {
        let w = Workers::default();
        let rounds = Arc::new(AtomicU32::new(0));
        let r = rounds.clone();
        w.spawn("counter", move |mut stop| async move {
            loop {
                // A round that takes a while: the stop must not cut it.
                tokio::time::sleep(Duration::from_millis(30)).await;
                r.fetch_add(1, Ordering::SeqCst);
                if stop.pause(Duration::from_secs(60), None).await {
                    break;
                }
            }
        });
        w.spawn("stuck", |_stop| async move { std::future::pending::<()>().await });
        // Let the counter reach its pause.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while rounds.load(Ordering::SeqCst) == 0 {
            assert!(std::time::Instant::now() < deadline, "the worker never ran");
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let left = w.stop(Duration::from_millis(300)).await;
        assert_eq!(left, vec!["stuck"]);
        assert_eq!(rounds.load(Ordering::SeqCst), 1, "stopped at its pause, after its round");
        assert!(w.stopping());
    }
}
