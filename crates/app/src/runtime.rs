//! What the use cases and workers of one process share at run time: the clock every timestamp comes from,
//! the doorbells that wake each worker, the review cache and the worker supervisor. Built once by
//! [`crate::Builder`] and held by every handle on the application.

/// The current time at the precision the store keeps (microseconds), so what a use case returns equals
/// what a later read returns.
pub fn now() -> time::OffsetDateTime {
    let t = time::OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

/// The time every use case writes and decides by (orders, audit records, bookings, tracking, tasks and their
/// workers), so timelines stay in order. The system clock in production; tests freeze and advance it to put
/// anomalies at their thresholds; the demo runs it as fast as its sandbox carrier.
#[derive(Debug)]
pub struct Clock(std::sync::RwLock<ClockMode>);

#[derive(Clone, Copy, Debug)]
enum ClockMode {
    System,
    Frozen(time::OffsetDateTime),
    Scaled { start: std::time::Instant, epoch: time::OffsetDateTime, scale: f64 },
}

impl Default for Clock {
    fn default() -> Self {
        Clock(std::sync::RwLock::new(ClockMode::System))
    }
}

impl Clock {
    /// A clock standing at `t` until it is moved.
    pub fn frozen(t: time::OffsetDateTime) -> Clock {
        Clock(std::sync::RwLock::new(ClockMode::Frozen(t)))
    }

    pub fn now(&self) -> time::OffsetDateTime {
        let mode = self.0.read().map(|m| *m).unwrap_or(ClockMode::System);
        let t = match mode {
            ClockMode::System => return now(),
            ClockMode::Frozen(t) => t,
            ClockMode::Scaled { start, epoch, scale } => {
                epoch + time::Duration::seconds_f64(start.elapsed().as_secs_f64() * scale)
            }
        };
        t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
    }

    fn set(&self, m: ClockMode) {
        if let Ok(mut g) = self.0.write() {
            *g = m;
        }
    }

    /// Stops the clock at `t`.
    pub fn freeze(&self, t: time::OffsetDateTime) {
        self.set(ClockMode::Frozen(t));
    }

    /// Moves the clock on (freezing it where it lands).
    pub fn advance(&self, by: time::Duration) {
        let t = self.now() + by;
        self.freeze(t);
    }

    /// Reads `epoch` now and runs `scale` times faster than real time from there (a simulation replaying
    /// past days).
    pub fn run_from(&self, epoch: time::OffsetDateTime, scale: f64) {
        self.set(ClockMode::Scaled { start: std::time::Instant::now(), epoch, scale });
    }
}

/// What intake shares across transactions: review's in-memory state and the dispatcher's doorbell.
pub(crate) struct Ctx {
    pub review: crate::review::ReviewCache,
    pub wake: tokio::sync::Notify,
    /// Rings the booking worker when bookings are queued.
    pub book: tokio::sync::Notify,
    pub clock: Clock,
    /// Rings the tracking worker (poll and sweep) when something is due sooner than it planned.
    pub track: tokio::sync::Notify,
    /// Rings the sales-channel pusher when updates are queued.
    pub push: tokio::sync::Notify,
    /// Rings the shop-order processor when deliveries are stored.
    pub inbox: tokio::sync::Notify,
    /// One processing round at a time in this process, so a delivery is never applied twice at once.
    pub inbox_round: tokio::sync::Mutex<()>,
    pub pull_round: tokio::sync::Mutex<()>,
    /// The background workers, stopped together at shutdown.
    pub workers: crate::workers::Workers,
}

impl Ctx {
    pub(crate) fn new(clock: Clock) -> Ctx {
        Ctx {
            review: Default::default(),
            wake: Default::default(),
            book: Default::default(),
            clock,
            track: Default::default(),
            push: Default::default(),
            inbox: Default::default(),
            inbox_round: Default::default(),
            pull_round: Default::default(),
            workers: Default::default(),
        }
    }
}

/// Peak resident memory of a process (this one when `pid` is None) in KiB, from the kernel's own
/// accounting; None where there is no /proc.
pub fn peak_rss_kib(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".into(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
