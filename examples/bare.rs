//! The machine's HTTP ceiling for the load runs: a bare axum handler answering `POST /graphql`
//! with fixed bytes (the same answer orghub gives to the trivial query), on the same runtime.
//! `cargo run --release --example bare -- 127.0.0.1:18181 '<body>'`
use axum::Router;
use axum::http::header;
use axum::routing::post;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18181".into());
    let body: &'static str = Box::leak(
        args.next()
            .unwrap_or_else(|| r#"{"data":{"me":{"id":"x"}}}"#.into())
            .into_boxed_str(),
    );
    let app = Router::new().route(
        "/graphql",
        post(move || async move { ([(header::CONTENT_TYPE, "application/json")], body) }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
