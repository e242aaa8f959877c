//! `--metrics` and `--live`: the live hub and its servers, started before a run and ended after
//! it (once the final values have lingered as long as asked).

use std::sync::Arc;
use std::time::Duration;

use surge_live::{Hub, Server};

use super::shared::LiveArgs;

/// The hub a run feeds, and the servers that show it.
#[derive(Debug)]
pub struct Live {
    /// Fed by the run (`RunOptions::live`).
    pub hub: Arc<Hub>,
    servers: Vec<Server>,
    linger: Duration,
}

impl Live {
    /// Starts what `args` ask for (None: nothing asked).
    ///
    /// # Errors
    /// An address cannot be listened on, naming the flag.
    pub async fn start(args: &LiveArgs) -> Result<Option<Live>, String> {
        if args.metrics.is_none() && args.live.is_none() {
            if args.linger.is_some() {
                return Err("--linger: only with --metrics or --live".into());
            }
            return Ok(None);
        }
        let hub = Arc::new(Hub::new());
        let mut servers = Vec::new();
        if let Some(addr) = args.live {
            let s = Server::live(addr, Arc::clone(&hub))
                .await
                .map_err(|e| format!("--live: {e}"))?;
            eprintln!("live: http://{}/", s.addr);
            servers.push(s);
        }
        // The live page's address serves /metrics too: one server when both are the same.
        match args.metrics {
            Some(addr) if Some(addr) == args.live => {
                eprintln!("metrics: http://{addr}/metrics");
            }
            Some(addr) => {
                let s = Server::metrics(addr, Arc::clone(&hub))
                    .await
                    .map_err(|e| format!("--metrics: {e}"))?;
                eprintln!("metrics: http://{}/metrics", s.addr);
                servers.push(s);
            }
            None => {}
        }
        Ok(Some(Live {
            hub,
            servers,
            linger: args.linger.unwrap_or_default(),
        }))
    }

    /// The hub, for `RunOptions::live`.
    pub fn hub(live: Option<&Live>) -> Option<Arc<Hub>> {
        live.map(|l| Arc::clone(&l.hub))
    }

    /// Keeps serving the final values for the linger, then closes the feeds and stops.
    pub async fn end(self) {
        if !self.linger.is_zero() {
            tokio::time::sleep(self.linger).await;
        }
        self.hub.close();
        for s in self.servers {
            s.stop().await;
        }
    }
}
