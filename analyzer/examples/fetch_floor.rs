//! The benchmark floor: fetch every layer of an image and inflate it, doing nothing else, with
//! the same registry client, parallelism and decompressors the analyzer uses. `plimsoll sbom`
//! is measured against this in `tests/bench/sbom.sh`.

use clap::Parser;
use plimsoll_analyzer::cli::{ImageArgs, settings_from};
use plimsoll_analyzer::layers::{Compression, sniff_compression};
use std::io::{BufRead, BufReader, Read};

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    image: ImageArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (source, settings) = settings_from(&args.image)?;
    let image = source.resolve(&settings).await?;
    let parallelism = std::thread::available_parallelism().map_or(2, |n| n.get());
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(parallelism));
    let mut tasks = Vec::new();
    for layer in image.layers.clone() {
        let permit = permits.clone().acquire_owned().await?;
        let reader = source.open_layer(&image, &layer).await?;
        tasks.push(tokio::task::spawn_blocking(
            move || -> std::io::Result<u64> {
                let _permit = permit;
                let mut buffered = BufReader::with_capacity(256 * 1024, reader);
                let compression = sniff_compression(buffered.fill_buf()?);
                let mut inflated: Box<dyn Read> = match compression {
                    Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
                    Compression::Zstd => {
                        Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?)
                    }
                    Compression::None => Box::new(buffered),
                };
                std::io::copy(&mut inflated, &mut std::io::sink())
            },
        ));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    #[allow(clippy::print_stdout)]
    {
        println!("{total} bytes inflated");
    }
    Ok(())
}
