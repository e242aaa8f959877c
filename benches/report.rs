//! Building every report (report.html, summary.csv, timeline.csv, status_codes.csv) for a
//! one-hour result: 3600 one-second rows, two labels. Target: well under a second.
//! `cargo bench --bench report`

use criterion::{criterion_group, criterion_main, Criterion};

fn reports(c: &mut Criterion) {
    let r = surge::record::synthetic::result(3600, &["get flow", "publish"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let html = surge::report::html::render(&r);
    eprintln!("one-hour report.html: {} bytes", html.len());
    let mut g = c.benchmark_group("one_hour_result");
    g.sample_size(20);
    g.bench_function("render_html", |b| {
        b.iter(|| surge::report::html::render(std::hint::black_box(&r)))
    });
    g.bench_function("diagnosis", |b| {
        b.iter(|| surge::analysis::diagnosis::diagnose(std::hint::black_box(&r)))
    });
    g.bench_function("write_all_reports", |b| {
        b.iter(|| surge::report::write_reports(&r, dir.path()).expect("write"))
    });
    g.finish();
}

criterion_group!(benches, reports);
criterion_main!(benches);
