//! `surge report` on a JTL holds the rows in flight, not the seconds the file spans: a JTL
//! of 4,000 short samples over 2,000 seconds is read by a process whose peak memory stays far
//! below what one set of histograms per second would take (the reader measured 4.9 GB on a
//! 61.5k-row, 1,230 s file before it drained seconds as it went; 53 MB after). Alone in its
//! test binary: the peak is read from the children's resource usage.
#![cfg(unix)]

use std::fmt::Write as _;
use std::process::Command;

#[test]
fn a_long_jtl_is_read_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n");
    let t0 = 1_700_000_000_000u64;
    for i in 0..4_000u64 {
        let ts = t0 + i * 500;
        let elapsed = 20 + (i * 7919) % 900;
        let code = if i % 7 == 0 { 429 } else { 200 };
        let _ = writeln!(
            text,
            "{ts},{elapsed},publish,{code},OK,TG 1-{},text,{},,100,50,8,8,http://127.0.0.1/x,{},0,1",
            i % 8 + 1,
            code == 200,
            elapsed / 2
        );
    }
    std::fs::write(dir.path().join("long.jtl"), text).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_surge"))
        .current_dir(dir.path())
        .args(["report", "long.jtl", "-o", "rep"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // SAFETY: getrusage writes into the struct we own.
    let peak_kb = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &mut u), 0);
        u.ru_maxrss
    };
    assert!(peak_kb < 250_000, "peak {peak_kb} KB");
    let csv = std::fs::read_to_string(dir.path().join("rep/timeline.csv")).unwrap();
    assert!(
        csv.lines().count() > 1_990,
        "every second is in the timeline"
    );
}
