//! What a group's users share of its request mix ([`MixRt`]): the counters of Throughput
//! Controllers counted over every user, and the rendezvous points ([`Barrier`]) that release
//! waiting users together. How one user steps through the mix is its `Flow`'s (`user::flow`).

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;

use surge_plan::steps::{Gate, Program};

/// A rendezvous point of one group: releases its waiting users together when `size` have
/// arrived, or when the first of them has waited `timeout` (JMeter's Synchronizing Timer, a
/// cyclic barrier broken by a timeout); then it counts again from 0.
#[derive(Debug)]
struct Barrier {
    size: u32,
    timeout: Option<Duration>,
    state: Mutex<(u32, u64)>,
    released: Notify,
}

impl Barrier {
    fn new(size: u32, timeout: Option<Duration>) -> Barrier {
        Barrier {
            size: size.max(1),
            timeout,
            state: Mutex::new((0, 0)),
            released: Notify::new(),
        }
    }

    /// Waits for the release; false when `stop` came first.
    async fn arrive(&self, stop: &CancellationToken) -> bool {
        let released = self.released.notified();
        tokio::pin!(released);
        let generation = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            s.0 += 1;
            if s.0 >= self.size {
                *s = (0, s.1 + 1);
                self.released.notify_waiters();
                return true;
            }
            // Registered before the lock is let go: a release from now on wakes this user.
            released.as_mut().enable();
            s.1
        };
        let timeout = async {
            match self.timeout {
                Some(t) => sleep(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = stop.cancelled() => {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if s.1 == generation {
                    s.0 = s.0.saturating_sub(1);
                }
                false
            }
            _ = &mut released => true,
            _ = timeout => {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if s.1 == generation {
                    *s = (0, s.1 + 1);
                    self.released.notify_waiters();
                }
                true
            }
        }
    }
}

/// What a group's users share of its request mix.
#[derive(Debug, Default)]
pub(crate) struct MixRt {
    /// (runs, passes) of each Throughput Controller counted over every user.
    gates: Vec<Mutex<(u64, u64)>>,
    /// One barrier per rendezvous point.
    points: Vec<Barrier>,
}

impl MixRt {
    /// The shared state of `program`, for a group of at most `users` users.
    pub(crate) fn new(program: &Program, users: u32) -> MixRt {
        MixRt {
            gates: program.gates.iter().map(|_| Mutex::new((0, 0))).collect(),
            points: program
                .points
                .iter()
                .map(|p| Barrier::new(p.users.unwrap_or(users), p.timeout))
                .collect(),
        }
    }

    /// Whether this pass through Throughput Controller `gate` (its rule `spec`, counted over
    /// every user) runs its items; counts the pass.
    pub(crate) fn throughput(&self, gate: u16, spec: &Gate) -> bool {
        let mut c = self.gates[usize::from(gate)]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let run = spec.decide(c.0, c.1);
        c.1 += 1;
        c.0 += u64::from(run);
        run
    }

    /// Waits at rendezvous point `point` for its release; false when `stop` came first.
    pub(crate) async fn arrive(&self, point: u16, stop: &CancellationToken) -> bool {
        self.points[usize::from(point)].arrive(stop).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_barrier_releases_together_or_at_the_first_waiters_timeout() {
        let b = Arc::new(Barrier::new(3, Some(Duration::from_secs(5))));
        let stop = CancellationToken::new();
        let t0 = tokio::time::Instant::now();
        let mut tasks = Vec::new();
        for i in 0..3u64 {
            let (b, stop) = (b.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                sleep(Duration::from_secs(i)).await;
                b.arrive(&stop).await;
                t0.elapsed()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Duration::from_secs(2));
        }
        // Two of three: the first waiter's timeout releases both, and counting starts again.
        let mut tasks = Vec::new();
        for i in 0..2u64 {
            let (b, stop) = (b.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                sleep(Duration::from_secs(i)).await;
                b.arrive(&stop).await;
                t0.elapsed()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Duration::from_secs(2 + 5));
        }
        assert_eq!(b.state.lock().unwrap().0, 0);
        // A stop frees a waiter without a release.
        let stopped = {
            let (b, stop) = (b.clone(), stop.clone());
            tokio::spawn(async move { b.arrive(&stop).await })
        };
        tokio::task::yield_now().await;
        stop.cancel();
        assert!(!stopped.await.unwrap());
        assert_eq!(b.state.lock().unwrap().0, 0);
    }
}
