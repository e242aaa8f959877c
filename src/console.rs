//! What surge prints goes through here: a closed pipe (`surge … | head`, a CI log collector
//! that went away) is not an error that loses anything. std's `print!` family panics when a
//! write to stdout or stderr fails; a panic there would end a run before it writes its result,
//! its reports and its verdicts, and exit 101 instead of the run's own code.
//!
//! This module defines `print!`, `println!`, `eprint!` and `eprintln!` for the whole crate: it
//! is declared first in `lib.rs` with `#[macro_use]`, so every module after it (the command
//! line, the mock's, and whatever is written there next) calls these instead of std's, with the
//! same syntax. They write to the process's stdout and stderr and drop what cannot be written.
//!
//! The binary turns this on with [`direct`] before anything prints. Without it (the library
//! driven in-process, as the tests drive it) the macros hand over to std's, so a test harness
//! still captures what a command prints.
//!
//! Where stdout *is* the product (`surge import` without `--out` prints the scenario), use
//! [`write_product`]: a closed pipe is still no error (the reader took what it wanted), but a
//! full disk is.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static DIRECT: AtomicBool = AtomicBool::new(false);

/// Print to the process's stdout and stderr, dropping what cannot be written, from now on.
/// `main.rs` calls it first.
pub fn direct() {
    DIRECT.store(true, Ordering::Relaxed);
}

/// Behind `print!` and `println!`.
#[doc(hidden)]
pub fn out(args: fmt::Arguments<'_>) {
    if DIRECT.load(Ordering::Relaxed) {
        let _ = io::stdout().lock().write_fmt(args);
    } else {
        std::print!("{args}");
    }
}

/// Behind `eprint!` and `eprintln!`.
#[doc(hidden)]
pub fn err(args: fmt::Arguments<'_>) {
    if DIRECT.load(Ordering::Relaxed) {
        let _ = io::stderr().lock().write_fmt(args);
    } else {
        std::eprint!("{args}");
    }
}

/// Writes `text` to stdout when stdout is what the command produces. A reader that closed the
/// pipe early is not an error (it has what it asked for); any other failure to write (a full
/// disk behind `>`) is.
///
/// # Errors
/// The write or flush error, unless it is a broken pipe.
pub fn write_product(text: &str) -> io::Result<()> {
    let written = if DIRECT.load(Ordering::Relaxed) {
        let mut o = io::stdout().lock();
        o.write_all(text.as_bytes()).and_then(|()| o.flush())
    } else {
        std::print!("{text}");
        Ok(())
    };
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// `print!` that never panics on a closed stdout (see the module's documentation).
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::console::out(format_args!($($arg)*))
    };
}

/// `println!` that never panics on a closed stdout (see the module's documentation).
macro_rules! println {
    () => {
        $crate::console::out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::console::out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` that never panics on a closed stderr (see the module's documentation).
macro_rules! eprint {
    ($($arg:tt)*) => {
        $crate::console::err(format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics on a closed stderr (see the module's documentation).
macro_rules! eprintln {
    () => {
        $crate::console::err(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::console::err(format_args!("{}\n", format_args!($($arg)*)))
    };
}
