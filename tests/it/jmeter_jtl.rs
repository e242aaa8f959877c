//! JTL both ways: the header byte for byte, surge's JTL read back to the same counts and
//! percentiles, JMeter's own JTL (with and without header, optional columns), and
//! `surge run plan.jmx --jtl` end to end against a loopback server.

use crate::common;

use std::path::{Path, PathBuf};

use common::{serve, Reply};
use surge::cli::{self, LoadArgs, RunArgs};
use surge::record::samples::{SampleSink, StreamMeta, StreamedSample};
use surge::record::{Aggregate, ErrorClass, Outcome, Recorder, RunResult, Sample, StatusKey};
use surge::report::jtl::{read_jtl, JtlWriter};
use tokio_util::sync::CancellationToken;

/// JMeter 5.x's default header, as in peers.md (not taken from the code under test).
const HEADER: &str = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n";

fn plan() -> surge::scenario::Plan {
    let text = r#"
name = "jtl"
[target]
base_url = "http://127.0.0.1:1"
[[request]]
name = "publish"
method = "POST"
path = "/publish"
expect_status = [200]
[[request]]
name = "list, paged"
path = "/list"
[[group]]
name = "Publishers"
requests = ["publish", "list, paged"]
[group.load]
threads = 7
"#;
    surge::scenario::load_str(text, Path::new("jtl.toml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn sample(i: u64, us_jitter: u64) -> Sample {
    let status = match i % 10 {
        0..=6 => StatusKey::Http(200),
        7 | 8 => StatusKey::Http(429),
        _ => StatusKey::Error(if i % 20 == 9 {
            ErrorClass::Reset
        } else {
            ErrorClass::Timeout
        }),
    };
    let start = i * 1_000 + (i % 3) * us_jitter;
    let service = 1_000 * (1 + (i * 7919) % 900) + us_jitter;
    Sample {
        step: (i % 2) as u16,
        user: (i % 7) as u32,
        active: 7,
        status,
        intended_us: start,
        start_us: start,
        ttfb_us: start + service / 2,
        end_us: start + service,
        bytes_in: 100 + i as u32,
        bytes_out: 50,
        attempt: 1,
        last: true,
        retry_wait_ms: 0,
        pace_wait_ms: 0,
        retry_after_ms: None,
        rate_limit: None,
        limit_key: None,
        check: None,
    }
}

/// Writes `n` samples to a JTL and records them; returns the JTL path and the direct result.
fn write_and_record(
    dir: &Path,
    n: u64,
    us_jitter: u64,
) -> (
    PathBuf,
    surge::record::result::Totals,
    Vec<surge::record::result::Cell>,
) {
    let plan = plan();
    let path = dir.join("run.jtl");
    let mut w = JtlWriter::create(&path, &plan).unwrap();
    let meta = StreamMeta {
        labels: vec!["publish".into(), "list, paged".into()],
        epoch_unix_ms: 1_732_900_000_000,
        groups: vec![("Publishers".into(), 0)],
        transactions: vec![],
    };
    let rec = Recorder::new(7);
    for i in 0..n {
        let s = sample(i, us_jitter);
        rec.record(&s);
        w.write(
            &StreamedSample {
                sample: s,
                url: format!("http://127.0.0.1:1/publish?i={i}"),
                in_parent: false,
            },
            &meta,
        )
        .unwrap();
    }
    w.finish().unwrap();
    let mut agg = Aggregate::new(meta.labels.clone());
    rec.drain_into(u32::MAX, &mut agg);
    let (totals, cells, _) = agg.finish(0);
    (path, totals, cells)
}

#[test]
fn surge_jtl_has_jmeters_header_and_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, _) = write_and_record(dir.path(), 20, 0);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(HEADER), "header must be byte-exact");
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 20);
    // Sample 0: a 200 of "publish", started at the epoch, 1 ms.
    assert_eq!(rows[0], "1732900000000,1,publish,200,OK,Publishers 1-1,text,true,,100,50,7,7,http://127.0.0.1:1/publish?i=0,0,0,0");
    // A label with a comma is quoted, as JMeter does.
    assert!(
        rows[1].contains(",\"list, paged\",200,OK,Publishers 1-2,"),
        "{}",
        rows[1]
    );
    // A 429 where the assertion wants 200: not a success, with a failure message.
    assert!(
        rows[8].contains(",publish,429,Too Many Requests,")
            && rows[8].contains(",false,Test failed: code expected to equal /200/ but was /429/,"),
        "{}",
        rows[8]
    );
    // Without expect_status, a 429 fails with no assertion message (JMeter: any code >= 400).
    assert!(
        rows[7].contains(",\"list, paged\",429,Too Many Requests,Publishers 1-1,text,false,,"),
        "{}",
        rows[7]
    );
    // Transport errors: JMeter's non-HTTP texts.
    assert!(rows[9].contains(",Non HTTP response code: org.apache.http.NoHttpResponseException,Non HTTP response message: The target server failed to respond,"), "{}", rows[9]);
    assert!(
        rows[19].contains(",Non HTTP response code: java.net.SocketTimeoutException,"),
        "{}",
        rows[19]
    );
    let mut r = csv::ReaderBuilder::new().from_path(&path).unwrap();
    assert!(r.records().all(|rec| rec.unwrap().len() == 17));
}

fn close(a: u64, b: u64, slack_us: u64) -> bool {
    let (hi, lo) = (a.max(b), a.min(b));
    hi - lo <= slack_us + hi / 500
}

#[test]
fn surge_jtl_reads_back_to_the_same_counts_and_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    // Whole-millisecond times: exact (within HDR precision, the same buckets on both sides).
    let (path, totals, cells) = write_and_record(dir.path(), 2_000, 0);
    let back = read_jtl(&path).unwrap();
    assert_eq!(back.totals.requests, totals.requests);
    assert_eq!(back.totals.by_status, totals.by_status);
    assert_eq!(back.totals.by_outcome, totals.by_outcome);
    assert_eq!(back.totals.bytes_in, totals.bytes_in);
    assert_eq!(
        back.labels,
        vec!["publish".to_string(), "list, paged".to_string()]
    );
    assert_eq!(back.cells.len(), cells.len());
    for (a, b) in back.cells.iter().zip(&cells) {
        assert_eq!((&a.label, a.status, a.count), (&b.label, b.status, b.count));
        assert_eq!(a.service, b.service, "{} {:?}", a.label, a.status);
    }
    assert_eq!(back.started_unix_ms, 1_732_900_000_000);
    assert_eq!(back.stop_reason, surge::record::StopReason::Completed);
    assert_eq!(back.scenario.file, path.display().to_string());
    assert_eq!(back.target.base_url, "http://127.0.0.1:1");
    assert_eq!(
        back.timeline.iter().map(|s| s.completed).sum::<u64>(),
        2_000
    );
    // Sub-millisecond times: JTL keeps whole ms, so within 1 ms (and HDR precision).
    let dir = tempfile::tempdir().unwrap();
    let (path, totals, cells) = write_and_record(dir.path(), 2_000, 437);
    let back = read_jtl(&path).unwrap();
    assert_eq!(back.totals.by_status, totals.by_status);
    for (a, b) in back.cells.iter().zip(&cells) {
        assert_eq!(a.count, b.count);
        for (x, y) in [
            (a.service.p50, b.service.p50),
            (a.service.p90, b.service.p90),
            (a.service.p99, b.service.p99),
            (a.service.max, b.service.max),
        ] {
            assert!(close(x, y, 1_000), "{x} vs {y}");
        }
    }
}

const JMETER_ROWS: &str = "\
1732900000000,120,publish,200,OK,Publishers 1-1,text,true,,512,310,1,1,https://api.example.com/api/v2/flows/actions/publish?flow=f1,118,0,45
1732900000200,3,publish,429,Too Many Requests,Publishers 1-2,text,false,,220,310,2,2,https://api.example.com/api/v2/flows/actions/publish?flow=f2,3,0,0
1732900000150,21001,publish,Non HTTP response code: java.net.SocketTimeoutException,Non HTTP response message: Read timed out,Publishers 1-1,text,false,,2001,0,2,2,https://api.example.com/api/v2/flows/actions/publish?flow=f3,0,0,1
1732900001000,80,\"list, paged\",200,OK,Publishers 1-2,text,true,,900,200,2,2,https://api.example.com/api/v2/flows?pageSize=25,75,0,0
1732900002500,95,publish,200,OK,Publishers 1-2,text,false,\"Test failed: text expected to contain /published/\",512,310,2,2,https://api.example.com/api/v2/flows/actions/publish?flow=f4,90,0,0
";

fn check_jmeter_result(r: &RunResult) {
    assert_eq!(r.totals.requests, 5);
    let by = |k: StatusKey| r.totals.by_status.get(&k).copied().unwrap_or(0);
    assert_eq!(by(StatusKey::Http(200)), 3);
    assert_eq!(by(StatusKey::Http(429)), 1);
    assert_eq!(by(StatusKey::Error(ErrorClass::Timeout)), 1);
    assert_eq!(
        r.labels,
        vec!["publish".to_string(), "list, paged".to_string()]
    );
    assert_eq!(r.started_unix_ms, 1_732_900_000_000);
    assert!((r.duration_s - 21.151).abs() < 1e-9, "{}", r.duration_s);
    assert_eq!(
        (r.target.base_url.as_str(), r.target.host.as_str()),
        ("https://api.example.com", "api.example.com")
    );
    let publish_ok = r
        .cells
        .iter()
        .find(|c| c.label == "publish" && c.status == StatusKey::Http(200))
        .unwrap();
    assert_eq!(publish_ok.count, 2);
    assert!(close(publish_ok.service.max, 120_000, 0) && close(publish_ok.service.min, 95_000, 0));
    assert_eq!(r.totals.bytes_in, 512 + 220 + 2001 + 900 + 512);
    // Two threads: both active in the first second.
    assert_eq!(r.timeline[0].active_users, 2);
    assert_eq!(r.outcome_count(Outcome::Throttled), 1);
    assert_eq!(r.totals.first_429_s, Some(0.203));
}

#[test]
fn jmeter_jtl_with_and_without_header() {
    let dir = tempfile::tempdir().unwrap();
    let with = dir.path().join("with.jtl");
    std::fs::write(&with, format!("{HEADER}{JMETER_ROWS}")).unwrap();
    let a = read_jtl(&with).unwrap_or_else(|e| panic!("{e}"));
    check_jmeter_result(&a);
    let without = dir.path().join("without.jtl");
    std::fs::write(&without, JMETER_ROWS).unwrap();
    let b = read_jtl(&without).unwrap_or_else(|e| panic!("{e}"));
    check_jmeter_result(&b);
    assert_eq!(
        (a.totals, a.cells, a.timeline),
        (b.totals, b.cells, b.timeline)
    );
    // Optional columns, found by name.
    let extra = dir.path().join("extra.jtl");
    let header = "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Filename,Latency,Encoding,SampleCount,ErrorCount,Hostname,IdleTime,Connect\n";
    let rows: String = JMETER_ROWS
        .lines()
        .map(|l| {
            // Insert Filename after URL, and Encoding, SampleCount, ErrorCount, Hostname after Latency.
            let mut f: Vec<String> = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(l.as_bytes())
                .records()
                .next()
                .unwrap()
                .unwrap()
                .iter()
                .map(str::to_string)
                .collect();
            f.insert(14, String::new());
            for (i, v) in ["UTF-8", "1", "0", "loadgen-1"].iter().enumerate() {
                f.insert(16 + i, v.to_string());
            }
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(&f).unwrap();
            String::from_utf8(w.into_inner().unwrap()).unwrap()
        })
        .collect();
    std::fs::write(&extra, format!("{header}{rows}")).unwrap();
    check_jmeter_result(&read_jtl(&extra).unwrap_or_else(|e| panic!("{e}")));
}

#[test]
fn bad_jtl_files_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.jtl");
    std::fs::write(&f, format!("{HEADER}1732900000000,12,a,200,OK,t 1-1,text,true,,1,1,1,1,http://h/,1,0,0\n2024/11/29 18:00:00,12,a,200,OK,t 1-1,text,true,,1,1,1,1,http://h/,1,0,0\n")).unwrap();
    let e = read_jtl(&f).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}:3: timeStamp", f.display())),
        "{e}"
    );
    std::fs::write(&f, "1,2,3\n").unwrap();
    assert!(read_jtl(&f)
        .unwrap_err()
        .to_string()
        .contains(":1: no header row, and 3 columns"));
    std::fs::write(&f, "label,elapsed\nx,1\n").unwrap();
    assert!(read_jtl(&f)
        .unwrap_err()
        .to_string()
        .contains("no header row"));
    std::fs::write(&f, "timeStamp,label\n").unwrap();
    assert!(read_jtl(&f)
        .unwrap_err()
        .to_string()
        .contains("\"elapsed\""));
    std::fs::write(&f, HEADER).unwrap();
    assert!(read_jtl(&f).unwrap_err().to_string().contains("no samples"));
    assert!(read_jtl(&dir.path().join("missing.jtl"))
        .unwrap_err()
        .to_string()
        .contains("cannot read"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn surge_run_jmx_end_to_end_with_jtl() {
    let server = serve(|r| {
        if r.n % 5 == 4 {
            Reply::status(429).with_header("Retry-After", "1")
        } else {
            Reply::status(200).with_body("{\"id\":\"x\"}")
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let jtl = dir.path().join("run.jtl");
    let plan = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jmx/seed_publish.jmx");
    let port = server.addr.port().to_string();
    let args = RunArgs {
        scenario: plan,
        out: Some(out.clone()),
        samples: None,
        quiet: true,
        jtl: Some(jtl.clone()),
        jmeter_property: vec![
            "host=127.0.0.1".into(),
            format!("port={port}"),
            "protocol=http".into(),
            "token=e2e-t0ken".into(),
        ],
        strict: true,
        load: LoadArgs {
            // The seed's 50 threads × 10 loops over 10 s, scaled down for a quick test.
            set: vec![
                "group[0].load.threads=5".into(),
                "group[0].load.ramp_up=\"200ms\"".into(),
                "group[0].load.loops=4".into(),
            ],
            yes: false,
            seed: Some(1),
            ..LoadArgs::default()
        },
        ..RunArgs::default()
    };
    assert_eq!(cli::run_cmd(args, CancellationToken::new()).await, 0);
    assert_eq!(server.total(), 20);
    let log = server.log.lock().unwrap().clone();
    assert!(
        log.iter().all(
            |(p, a)| p.starts_with("/api/v2/flows/actions/publish?flow=f0")
                && a.as_deref() == Some("Bearer e2e-t0ken")
        ),
        "{log:?}"
    );
    let result = RunResult::read(&out.join("result.json")).unwrap();
    assert_eq!(result.totals.requests, 20);
    assert_eq!(
        result.totals.by_status.get(&StatusKey::Http(429)).copied(),
        Some(server.count("429"))
    );
    let text = std::fs::read_to_string(&jtl).unwrap();
    assert!(text.starts_with(HEADER));
    assert_eq!(text.lines().count(), 21);
    assert!(
        text.lines().skip(1).all(|l| l.contains(",Publishers 1-")),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.contains(",429,Too Many Requests,") && l.contains(",false,Test failed"))
            .count() as u64,
        server.count("429")
    );
    let back = read_jtl(&jtl).unwrap();
    assert_eq!(back.totals.by_status, result.totals.by_status);
    assert_eq!(back.totals.bytes_in, result.totals.bytes_in);
    for (a, b) in back.cells.iter().zip(&result.cells) {
        assert_eq!((&a.label, a.status, a.count), (&b.label, b.status, b.count));
        for (x, y) in [
            (a.service.p50, b.service.p50),
            (a.service.p99, b.service.p99),
            (a.service.max, b.service.max),
        ] {
            assert!(close(x, y, 1_000), "{x} vs {y}");
        }
    }
    // The token is in no output.
    for f in [jtl, out.join("result.json")] {
        assert!(
            !std::fs::read_to_string(&f).unwrap().contains("e2e-t0ken"),
            "{}",
            f.display()
        );
    }
}
