# surge as a container image, for `surge k8s` (docs/distributed.md) or any other runner.
#   docker build -t surge:0.1.0 .
# Two stages: the release build, then a slim Debian with only the binary and the CA
# certificates rustls verifies real hosts against. Runs as an unprivileged user (uid 10001),
# which the manifests of `surge k8s` also ask for.

FROM rust:1-slim-bookworm AS build
WORKDIR /src
# The workspace: the root package (the binary) and every crate under crates/ (one COPY each, so
# tests/it/dockerfile.rs can read them against `cargo metadata`). Cargo.toml declares the benchmarks
# (benches/), so cargo wants their files present.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY crates/record ./crates/record
COPY crates/plan ./crates/plan
COPY crates/mock ./crates/mock
COPY crates/transport ./crates/transport
COPY crates/engine ./crates/engine
COPY crates/analysis ./crates/analysis
COPY crates/report ./crates/report
COPY crates/live ./crates/live
ENV CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_STRIP=symbols
RUN cargo build --release --locked --bin surge

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --user-group --create-home surge \
 && mkdir -p /results && chown surge:surge /results
COPY --from=build /src/target/release/surge /usr/local/bin/surge
USER 10001:10001
WORKDIR /results
CMD ["surge", "--help"]
