//! Per-core runtimes: users are sharded over current-thread tokio runtimes, one OS thread each,
//! so a request's wake-up, send, receive and recording happen on one thread (no task hopping
//! between workers, no lock shared by every user). The schedule, the once-a-second drain and the
//! stop triggers stay on the caller's runtime.

use std::future::Future;

use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// Where the executor runs its users.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Workers {
    /// On the caller's runtime (tests and `--simulate`: a paused clock needs one runtime).
    #[default]
    Ambient,
    /// On this many current-thread runtimes of their own (at most one per user).
    PerCore(usize),
}

impl Workers {
    /// One runtime per core this process may use, or `SURGE_WORKERS` of them when that is set
    /// to a positive number.
    pub fn per_core() -> Workers {
        let n = std::env::var("SURGE_WORKERS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Workers::PerCore(n)
    }
}

/// Handles of running per-core runtimes; user `u` runs on runtime `u % n`.
#[derive(Debug)]
pub(crate) struct Cores {
    handles: Vec<Handle>,
}

/// The threads of the per-core runtimes; [`CoreThreads::shutdown`] stops them.
#[derive(Debug)]
pub(crate) struct CoreThreads {
    stops: Vec<oneshot::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Cores {
    /// Starts `n` runtimes (at least one), each on a thread of its own.
    pub(crate) fn start(n: usize) -> std::io::Result<(Cores, CoreThreads)> {
        let n = n.max(1);
        let mut handles = Vec::with_capacity(n);
        let mut t = CoreThreads {
            stops: Vec::with_capacity(n),
            threads: Vec::with_capacity(n),
        };
        for i in 0..n {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (stop, stopped) = oneshot::channel::<()>();
            handles.push(rt.handle().clone());
            t.stops.push(stop);
            t.threads.push(
                std::thread::Builder::new()
                    .name(format!("surge-core-{i}"))
                    .spawn(move || {
                        rt.block_on(async move {
                            let _ = stopped.await;
                        });
                    })?,
            );
        }
        Ok((Cores { handles }, t))
    }

    /// How many runtimes.
    pub(crate) fn len(&self) -> usize {
        self.handles.len()
    }
}

impl CoreThreads {
    /// Stops the runtimes (tasks still on them are dropped) and waits for their threads.
    pub(crate) async fn shutdown(self) {
        drop(self.stops);
        let threads = self.threads;
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

/// Spawns user `user`'s task: on its core's runtime, or on the caller's.
pub(crate) fn spawn_user<F>(cores: Option<&Cores>, set: &mut JoinSet<()>, user: u32, fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    match cores {
        Some(c) => {
            set.spawn_on(fut, &c.handles[user as usize % c.handles.len()]);
        }
        None => {
            set.spawn(fut);
        }
    }
}
