//! `verity-bench`: the load tool on its own (the same as `verity bench`).

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "verity-bench", version, about)]
struct Cli {
    #[command(flatten)]
    args: verity_bench::BenchArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    verity_bench::run(Cli::parse().args).await
}
