//! `surge mock`: serve the mock until Ctrl-C, printing its URL and credentials at start and the ground
//! truth at exit.

use anyhow::Context;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use surge_mock::{write_flow_ids_csv, MockConfig, MockServer, Preset};

/// `--preset`: one of the presets' names, listed by `--help` and in the error for another.
pub fn preset_parser() -> impl clap::builder::TypedValueParser<Value = Preset> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(Preset::ALL.map(Preset::name))
        .try_map(|s| s.parse::<Preset>())
}

/// Arguments of `surge mock`.
#[derive(Debug, Clone, clap::Args)]
pub struct MockArgs {
    /// Model parameters to start from (the same default as `base_url = "mock"` in a scenario).
    #[arg(long, value_parser = preset_parser(), default_value_t = Preset::default())]
    pub preset: Preset,
    /// TCP port (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// TOML file overriding model parameters of the preset, e.g. `[token_limit]` with
    /// `per_minute = 50` (every field: crates/mock/src/config.rs).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Seed of latency, fault and outcome draws and of the flow ids.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Flows created at start.
    #[arg(long)]
    pub flows: Option<u32>,
    /// Write the initial flows' ids as CSV (`flow_id,flow_name`) to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_flow_ids: Option<PathBuf>,
    /// Retry-After on every 429, instead of the computed value.
    #[arg(long, value_name = "SECONDS")]
    pub retry_after: Option<u32>,
}

impl MockArgs {
    /// The configuration these arguments describe.
    ///
    /// # Errors
    /// The `--config` file cannot be read or parsed.
    pub fn config(&self) -> anyhow::Result<MockConfig> {
        let mut cfg = match &self.config {
            Some(path) => {
                let text = surge_record::limits::read_to_string(
                    path,
                    surge_record::limits::MOCK_CONFIG_BYTES,
                )
                .with_context(|| format!("reading {}", path.display()))?;
                MockConfig::from_toml_overrides(self.preset, &text)
                    .with_context(|| format!("in {}", path.display()))?
            }
            None => MockConfig::preset(self.preset),
        };
        if let Some(s) = self.seed {
            cfg.seed = s;
        }
        if let Some(n) = self.flows {
            cfg.flows = n;
        }
        if let Some(r) = self.retry_after {
            cfg.retry_after.override_s = Some(r);
        }
        Ok(cfg)
    }
}

/// Serves until Ctrl-C.
///
/// # Errors
/// Bad configuration, an unwritable export file, or an address that cannot be bound.
pub async fn run(args: MockArgs) -> anyhow::Result<()> {
    let cfg = args.config()?;
    if let Some(path) = &args.export_flow_ids {
        write_flow_ids_csv(&cfg, path).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {} flow ids to {}", cfg.flows, path.display());
    }
    let preset = cfg.preset;
    let server = MockServer::start(cfg, SocketAddr::new(args.host, args.port))
        .await
        .with_context(|| format!("binding {}:{}", args.host, args.port))?;
    println!("surge mock (preset {preset}) listening on {}", server.url());
    println!("  client id:     {}", server.client_id());
    println!("  client secret: {}", server.client_secret());
    println!(
        "  ground truth:  {}/mock/stats   (Ctrl-C to stop)",
        server.url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    let stats = server.shutdown().await;
    print!("{}", stats.summary());
    Ok(())
}
