//! Recording cost: ns per sample into the sharded recorder (one shard's lock, HDR histograms),
//! with the once-a-second drain amortized as in a run; and a drain of 10k samples on its own.
//! `cargo bench --bench record`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use surge::record::{Aggregate, Recorder, Sample, StatusKey};

fn sample(i: u64) -> Sample {
    let status = match i % 20 {
        0..=16 => StatusKey::Http(200),
        17 | 18 => StatusKey::Http(429),
        _ => StatusKey::Http(500),
    };
    let start = i * 2_000;
    Sample {
        step: (i % 3) as u16,
        user: (i % 50) as u32,
        active: 50,
        status,
        intended_us: start,
        start_us: start,
        ttfb_us: start + 900 + (i * 7919) % 50_000,
        end_us: start + 1_000 + (i * 7919) % 50_000,
        bytes_in: 512,
        bytes_out: 256,
        attempt: 1,
        last: true,
        retry_wait_ms: 0,
        pace_wait_ms: 0,
        retry_after_ms: if status == StatusKey::Http(429) {
            Some(2_000)
        } else {
            None
        },
        rate_limit: None,
        limit_key: None,
        check: None,
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Elements(1));
    // As in a run: 50,000 samples a second, the aggregator draining each second as it ends.
    let rec = Recorder::new(50);
    let mut agg = Aggregate::new(vec!["a".into(), "b".into(), "c".into()]);
    let mut i = 0u64;
    g.bench_function("record_one_sample", |b| {
        b.iter(|| {
            let mut s = sample(i);
            s.start_us = i * 20;
            s.intended_us = s.start_us;
            s.ttfb_us = s.start_us + 900;
            s.end_us = s.start_us + 1_000 + (i * 7919) % 50_000;
            rec.record(&s);
            i += 1;
            if i % 50_000 == 0 {
                rec.drain_into((i / 50_000) as u32, &mut agg);
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("drain");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("record_10k_then_drain_one_second", |b| {
        b.iter(|| {
            let rec = Recorder::new(50);
            let mut agg = Aggregate::new(vec!["a".into(), "b".into(), "c".into()]);
            for i in 0..10_000u64 {
                let mut s = sample(i);
                // All in one second.
                s.start_us = i * 50;
                s.end_us = s.start_us + 1_000;
                rec.record(&s);
            }
            rec.drain_into(u32::MAX, &mut agg);
            agg
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
