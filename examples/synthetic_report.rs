//! Writes a synthetic throttled run (default one hour, two labels) and all its reports into a
//! directory: `cargo run --example synthetic_report -- DIR [SECONDS]`.

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "reports/synthetic".into()));
    let seconds: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3600);
    let r = surge::record::synthetic::result(seconds, &["get flow", "publish"]);
    if let Err(e) = surge::report::write_outputs(&r, &dir) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    println!("{}", dir.join("report.html").display());
}
