//! The rate-limit models as pure state machines over `tokio::time::Instant`: a fixed 60 s window (used by
//! the `token`, `org_app_user` and per-endpoint models), a token bucket (the `gateway` model, for
//! comparing client policies against a bucket) and the HYPOTHESIS publish compile backlog.
//! Every decision is O(1) (the backlog is amortised O(1) plus O(workers)).

use std::collections::VecDeque;
use tokio::time::{Duration, Instant};

/// The window length of every per-minute model.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Which model refused a request; named in the 429's `limit` and in stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LimitKind {
    Token,
    OrgAppUser,
    Endpoint,
    CompileBacklog,
    Gateway,
}

impl LimitKind {
    /// `limit.key` of the 429 body and the key in `throttled_by_limit`.
    pub fn key(self) -> &'static str {
        match self {
            LimitKind::Token => "token.rate.per.minute",
            LimitKind::OrgAppUser => "org.app.user.rate.per.minute",
            LimitKind::Endpoint => "endpoint.rate.per.minute",
            LimitKind::CompileBacklog => "HYPOTHESIS.publish.compile.backlog.capacity",
            LimitKind::Gateway => "gateway.token.bucket",
        }
    }

    /// `limit.namespace` of the 429 body.
    pub fn namespace(self) -> &'static str {
        match self {
            LimitKind::Token => "oauth.token",
            LimitKind::OrgAppUser => "platform.api",
            LimitKind::Endpoint => "architect.flows",
            LimitKind::CompileBacklog => "HYPOTHESIS.architect.compile",
            LimitKind::Gateway => "mock.gateway",
        }
    }

    pub const ALL: [LimitKind; 5] = [
        LimitKind::Token,
        LimitKind::OrgAppUser,
        LimitKind::Endpoint,
        LimitKind::CompileBacklog,
        LimitKind::Gateway,
    ];

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A refusal: which model, its configured value, and the wait until the request would be admitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Refusal {
    pub kind: LimitKind,
    /// The limit's value (per-minute count, or backlog capacity).
    pub value: u64,
    pub wait: Duration,
}

/// Whole seconds for `Retry-After`: the wait rounded up, at least `min_s` (and at least 1).
pub fn retry_after_secs(wait: Duration, min_s: u32, override_s: Option<u32>) -> u64 {
    if let Some(s) = override_s {
        return u64::from(s);
    }
    let ms = wait.as_millis() as u64;
    ms.div_ceil(1000).max(u64::from(min_s)).max(1)
}

/// A fixed 60 s window that opens at the key's first request (and at its first request after the
/// previous window closed), admitting `limit` requests per window.
#[derive(Debug, Clone, Copy)]
pub struct FixedWindow {
    start: Option<Instant>,
    count: u32,
}

/// The state a window reports after a decision, for the `inin-ratelimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowState {
    pub allowed: u32,
    /// Admitted requests in the current window.
    pub count: u32,
    /// Whole seconds until the window closes (rounded up).
    pub reset_s: u64,
}

impl Default for FixedWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl FixedWindow {
    pub const fn new() -> FixedWindow {
        FixedWindow {
            start: None,
            count: 0,
        }
    }

    /// Admits (and counts) the request, or answers the wait until the window closes.
    pub fn check(&mut self, now: Instant, limit: u32) -> Result<WindowState, Duration> {
        let start = match self.start {
            Some(s) if now < s + WINDOW => s,
            _ => {
                self.start = Some(now);
                self.count = 0;
                now
            }
        };
        let end = start + WINDOW;
        let reset_s = (end - now).as_millis().div_ceil(1000) as u64;
        if self.count >= limit {
            return Err(end - now);
        }
        self.count += 1;
        Ok(WindowState {
            allowed: limit,
            count: self.count,
            reset_s,
        })
    }
}

/// A token bucket (GCRA): `rate` per second sustained, `burst` at once, full at its first request.
/// Refused requests do not count.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bucket {
    /// Theoretical arrival time: the bucket is full while it is at or before now.
    tat: Option<Instant>,
}

impl Bucket {
    /// Admits the request, or answers the wait until a request would be admitted.
    pub fn check(&mut self, now: Instant, rate: f64, burst: u32) -> Result<(), Duration> {
        let interval = Duration::from_secs_f64(1.0 / rate.max(1e-6));
        let tolerance = interval * burst.max(1).saturating_sub(1);
        let due = self.tat.map_or(now, |t| t.max(now));
        if due > now + tolerance {
            return Err(due - tolerance - now);
        }
        self.tat = Some(due + interval);
        Ok(())
    }
}

/// One admitted compile: when it starts on a worker and when it finishes compiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileSlot {
    pub start: Instant,
    pub end: Instant,
}

/// HYPOTHESIS: an org-wide compile service with `workers` workers (0 = unbounded) and room for `capacity`
/// publishes waiting for a worker. A publish is assigned, at admission, to the worker that frees first
/// (FIFO), so its start and end are known at once and nothing runs in the background. Start times are
/// non-decreasing, so the waiting ones form a queue whose front frees the next slot.
#[derive(Debug)]
pub struct Backlog {
    workers_free_at: Vec<Instant>,
    waiting_starts: VecDeque<Instant>,
    capacity: Option<usize>,
}

impl Backlog {
    /// `capacity = None`: never refuses.
    pub fn new(workers: u32, capacity: Option<u32>) -> Backlog {
        Backlog {
            workers_free_at: Vec::with_capacity(workers as usize),
            waiting_starts: VecDeque::new(),
            capacity: capacity.map(|c| c as usize),
        }
        .with_workers(workers)
    }

    fn with_workers(mut self, workers: u32) -> Backlog {
        self.workers_free_at.clear();
        self.workers_free_at
            .resize(workers as usize, Instant::now());
        self
    }

    /// Publishes waiting for a worker at `now`.
    pub fn waiting(&mut self, now: Instant) -> usize {
        while self.waiting_starts.front().is_some_and(|s| *s <= now) {
            self.waiting_starts.pop_front();
        }
        self.waiting_starts.len()
    }

    /// Admits a publish whose compile takes `compile`, or answers the wait until a waiting slot frees.
    pub fn admit(&mut self, now: Instant, compile: Duration) -> Result<CompileSlot, Duration> {
        let waiting = self.waiting(now);
        if let (Some(cap), false) = (self.capacity, self.workers_free_at.is_empty()) {
            if waiting >= cap {
                let wait = match self.waiting_starts.front() {
                    Some(s) => *s - now,
                    // capacity 0: the next worker to free
                    None => self
                        .workers_free_at
                        .iter()
                        .min()
                        .map_or(Duration::ZERO, |f| *f - now),
                };
                if cap > 0 || self.workers_free_at.iter().all(|f| *f > now) {
                    return Err(wait);
                }
            }
        }
        let start = match self.workers_free_at.iter_mut().min() {
            None => now,
            Some(free_at) => {
                let start = (*free_at).max(now);
                *free_at = start + compile;
                start
            }
        };
        if start > now {
            self.waiting_starts.push_back(start);
        }
        Ok(CompileSlot {
            start,
            end: start + compile,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn fixed_window_admits_limit_then_refuses_until_window_end() {
        let mut w = FixedWindow::new();
        let t0 = Instant::now();
        for i in 1..=3 {
            let s = w.check(Instant::now(), 3).unwrap();
            assert_eq!((s.allowed, s.count, s.reset_s), (3, i, 60));
        }
        tokio::time::advance(Duration::from_millis(20_500)).await;
        let wait = w.check(Instant::now(), 3).unwrap_err();
        assert_eq!(wait, Duration::from_millis(39_500));
        assert_eq!(retry_after_secs(wait, 1, None), 40);
        assert_eq!(retry_after_secs(wait, 1, Some(7)), 7);
        tokio::time::advance(Duration::from_millis(39_499)).await;
        assert_eq!(
            w.check(Instant::now(), 3).unwrap_err(),
            Duration::from_millis(1)
        );
        assert_eq!(retry_after_secs(Duration::from_millis(1), 1, None), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1), 2, None), 2);
        tokio::time::advance(Duration::from_millis(1)).await;
        // a new window opens at this request
        let s = w.check(Instant::now(), 3).unwrap();
        assert_eq!((s.count, s.reset_s), (1, 60));
        assert_eq!(Instant::now() - t0, WINDOW);
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_admits_its_burst_then_its_rate_and_says_when() {
        let mut b = Bucket::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            b.check(t0, 10.0, 3).unwrap();
        }
        // Full: the next slot is 100 ms away.
        assert_eq!(b.check(t0, 10.0, 3), Err(Duration::from_millis(100)));
        tokio::time::advance(Duration::from_millis(100)).await;
        b.check(Instant::now(), 10.0, 3).unwrap();
        assert_eq!(
            b.check(Instant::now(), 10.0, 3),
            Err(Duration::from_millis(100))
        );
        // A rested bucket holds its burst again.
        tokio::time::advance(Duration::from_secs(1)).await;
        for _ in 0..3 {
            b.check(Instant::now(), 10.0, 3).unwrap();
        }
        assert!(b.check(Instant::now(), 10.0, 3).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn backlog_queues_then_refuses_with_wait_until_a_slot_frees() {
        let c = Duration::from_secs(3);
        let mut b = Backlog::new(2, Some(2));
        let t0 = Instant::now();
        // two start at once, two wait
        let s: Vec<_> = (0..4).map(|_| b.admit(t0, c).unwrap()).collect();
        assert_eq!(s[0].start, t0);
        assert_eq!(s[1].start, t0);
        assert_eq!(s[2].start, t0 + c);
        assert_eq!(s[3].end, t0 + 2 * c);
        assert_eq!(b.waiting(t0), 2);
        tokio::time::advance(Duration::from_millis(1_200)).await;
        let wait = b.admit(Instant::now(), c).unwrap_err();
        assert_eq!(wait, Duration::from_millis(1_800));
        assert_eq!(retry_after_secs(wait, 1, None), 2);
        tokio::time::advance(Duration::from_millis(1_800)).await;
        assert_eq!(b.waiting(Instant::now()), 0);
        let s = b.admit(Instant::now(), c).unwrap();
        assert_eq!(s.start, t0 + 2 * c);
    }

    #[tokio::test(start_paused = true)]
    async fn backlog_unbounded_workers_and_capacity_never_refuse() {
        let mut b = Backlog::new(0, None);
        let now = Instant::now();
        for _ in 0..1000 {
            let s = b.admit(now, Duration::from_secs(1)).unwrap();
            assert_eq!(s.start, now);
        }
        let mut b = Backlog::new(1, Some(0));
        b.admit(now, Duration::from_secs(2)).unwrap();
        assert_eq!(
            b.admit(now, Duration::from_secs(2)).unwrap_err(),
            Duration::from_secs(2)
        );
    }
}
