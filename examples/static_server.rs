//! A minimal static HTTP server for load benchmarks: answers `200 ok` to every request.
//! `cargo run --release --example static_server -- 127.0.0.1:18080`

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18080".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("static server on http://{}", listener.local_addr()?);
    let app = axum::Router::new().fallback(|| async { "ok" });
    axum::serve(listener, app).await
}
