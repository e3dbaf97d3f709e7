//! Login throttling and the bound on password hashing. A console login costs an Argon2id hash (19 MiB,
//! tens of milliseconds): unbounded, 64 logins at once took the server from 44 MB to 1.25 GB, and nothing
//! stopped a password from being guessed at the machine's speed.
//!
//! Failures are counted per username and per client address in a sliding window; past the limit the
//! key is locked for a time that doubles with each further failure, and the caller is told when to come
//! back (429 with Retry-After). A success clears the username's count. Hashes run at most `HASHING` at a
//! time; a login that cannot get a turn within `HASH_WAIT` is refused as busy rather than queued without
//! end. The counts live in the process: several nodes each keep their own (documented in SECURITY.md).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::{Error, Result};

/// Failures allowed per username in `WINDOW` before it is locked.
pub const PER_USER: u32 = 5;
/// Failures allowed per client address in `WINDOW` (a shared office address tries several names).
pub const PER_ADDRESS: u32 = 20;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// The first lock; each failure past the limit doubles it, up to `MAX_LOCK`.
pub const FIRST_LOCK: Duration = Duration::from_secs(30);
pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// Password hashes computed at once.
pub const HASHING: usize = 2;
/// How long a login waits for a turn to hash before it is refused as busy.
pub const HASH_WAIT: Duration = Duration::from_secs(5);
/// Keys remembered at most; past it the oldest quiet ones are forgotten.
const KEYS: usize = 100_000;

#[derive(Clone, Copy, Debug)]
struct Count {
    failures: u32,
    first: Instant,
    locked_until: Option<Instant>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Address(IpAddr),
}

pub struct LoginGuard {
    counts: Mutex<HashMap<Key, Count>>,
    hashing: Semaphore,
}

impl Default for LoginGuard {
    fn default() -> Self {
        Self { counts: Mutex::new(HashMap::new()), hashing: Semaphore::new(HASHING) }
    }
}

fn keys(username: &str, addr: Option<IpAddr>) -> Vec<(Key, u32)> {
    let mut k = vec![(Key::User(username.trim().to_lowercase()), PER_USER)];
    if let Some(a) = addr {
        k.push((Key::Address(a), PER_ADDRESS));
    }
    k
}

impl LoginGuard {
    /// Refuses while the username or the address is locked.
    pub fn check(&self, username: &str, addr: Option<IpAddr>, now: Instant) -> Result<()> {
        let Ok(counts) = self.counts.lock() else { return Ok(()) };
        let wait = keys(username, addr)
            .iter()
            .filter_map(|(k, _)| counts.get(k).and_then(|c| c.locked_until))
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        match wait {
            // Rounded up: a client that waits what it is told is never refused again for the rounding.
            Some(w) => {
                Err(Error::RateLimited { retry_after_secs: (w.as_secs() + u64::from(w.subsec_nanos() > 0)).max(1) })
            }
            None => Ok(()),
        }
    }

    pub fn failed(&self, username: &str, addr: Option<IpAddr>, now: Instant) {
        let Ok(mut counts) = self.counts.lock() else { return };
        if counts.len() >= KEYS {
            counts.retain(|_, c| now.duration_since(c.first) < WINDOW || c.locked_until.is_some_and(|u| u > now));
            if counts.len() >= KEYS {
                counts.clear();
            }
        }
        for (key, limit) in keys(username, addr) {
            let c = counts.entry(key).or_insert(Count { failures: 0, first: now, locked_until: None });
            if now.duration_since(c.first) >= WINDOW && c.locked_until.is_none_or(|u| u <= now) {
                *c = Count { failures: 0, first: now, locked_until: None };
            }
            c.failures += 1;
            if c.failures >= limit {
                let doublings = (c.failures - limit).min(10);
                let lock = (FIRST_LOCK * 2u32.pow(doublings)).min(MAX_LOCK);
                c.locked_until = Some(now + lock);
            }
        }
    }

    pub fn succeeded(&self, username: &str) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.remove(&Key::User(username.trim().to_lowercase()));
        }
    }

    /// A turn to hash a password, or `busy` when none comes within `HASH_WAIT`.
    pub async fn hashing_turn(&self) -> Result<SemaphorePermit<'_>> {
        match tokio::time::timeout(HASH_WAIT, self.hashing.acquire()).await {
            Ok(Ok(p)) => Ok(p),
            _ => Err(Error::RateLimited { retry_after_secs: HASH_WAIT.as_secs() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry_after(r: Result<()>) -> u64 {
        match r {
            Err(Error::RateLimited { retry_after_secs }) => retry_after_secs,
            other => panic!("expected a lock, got {other:?}"),
        }
    }

    #[test]
    fn a_username_locks_after_its_failures_and_the_lock_doubles() {
        let g = LoginGuard::default();
        let t0 = Instant::now();
        for _ in 0..PER_USER - 1 {
            g.failed("Ops", None, t0);
        }
        assert!(g.check("ops", None, t0).is_ok(), "still under the limit");
        g.failed("ops", None, t0);
        assert_eq!(retry_after(g.check("OPS ", None, t0)), FIRST_LOCK.as_secs(), "names are compared as typed");
        assert!(g.check("ops", None, t0 + FIRST_LOCK).is_ok(), "the lock ends");
        g.failed("ops", None, t0 + FIRST_LOCK);
        assert_eq!(retry_after(g.check("ops", None, t0 + FIRST_LOCK)), 2 * FIRST_LOCK.as_secs());
        assert!(g.check("finance", None, t0).is_ok(), "another user is not locked");
    }

    #[test]
    fn an_address_trying_many_names_is_locked_on_its_own() {
        let g = LoginGuard::default();
        let a: IpAddr = "203.0.113.9".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..PER_ADDRESS {
            g.failed(&format!("user{i}"), Some(a), t0);
        }
        assert!(retry_after(g.check("someone-new", Some(a), t0)) >= 1);
        assert!(g.check("someone-new", Some("203.0.113.10".parse().unwrap()), t0).is_ok());
    }

    #[test]
    fn a_success_clears_the_count_and_old_failures_expire() {
        let g = LoginGuard::default();
        let t0 = Instant::now();
        for _ in 0..PER_USER - 1 {
            g.failed("ops", None, t0);
        }
        g.succeeded("ops");
        g.failed("ops", None, t0);
        assert!(g.check("ops", None, t0).is_ok());
        for _ in 0..PER_USER - 2 {
            g.failed("ops", None, t0);
        }
        g.failed("ops", None, t0 + WINDOW);
        assert!(g.check("ops", None, t0 + WINDOW).is_ok(), "failures older than the window do not count");
    }

    #[tokio::test]
    async fn no_more_than_the_bound_hash_at_once() {
        let g = LoginGuard::default();
        let held: Vec<_> = futures_permits(&g, HASHING).await;
        assert_eq!(g.hashing.available_permits(), 0);
        drop(held);
        assert_eq!(g.hashing.available_permits(), HASHING);
    }

    async fn futures_permits(g: &LoginGuard, n: usize) -> Vec<SemaphorePermit<'_>> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(g.hashing_turn().await.unwrap());
        }
        v
    }
}
