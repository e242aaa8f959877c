//! The `surge` binary: parses the command line, runs, and exits with the documented code.

#[tokio::main]
async fn main() {
    let code = surge::cli::main_with(std::env::args_os()).await;
    std::process::exit(code);
}
