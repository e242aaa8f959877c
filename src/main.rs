//! The `surge` binary: parses the command line, runs, and exits with the documented code.
//! Everything it does is in [`surge::cli::main_with`], so tests drive the tool in-process.

#[tokio::main]
async fn main() {
    // Before anything prints: a closed stdout or stderr (`surge … | head`) drops what cannot be
    // written instead of panicking, so a run still writes its result and exits with its code.
    surge::console::direct();
    let code = surge::cli::main_with(std::env::args_os()).await;
    std::process::exit(code);
}
