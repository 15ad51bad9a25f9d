//! `hefty infer-plot`: latency against throughput of encrypted-inference
//! runs — one point per `hefty infer --json` record — as an SVG chart, so
//! the packings' trade-off is one picture (docs/INFERENCE.md).

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde_json::Value;

/// Arguments of `hefty infer-plot`.
#[derive(clap::Args)]
pub struct PlotArgs {
    /// Records written by `hefty infer --json`.
    #[arg(required = true, value_name = "JSON")]
    records: Vec<PathBuf>,
    /// The SVG file to draw.
    #[arg(long, value_name = "FILE")]
    svg: PathBuf,
}

/// One run's point: `(label, latency in seconds, images per second)`.
fn point(record: &Value, path: &Path) -> Result<(String, f64, f64), String> {
    let bad = |what: &str| {
        format!(
            "{}: not a `hefty infer --json` record ({what})",
            path.display()
        )
    };
    let packing = record["packing"]
        .as_str()
        .ok_or_else(|| bad("no packing"))?;
    let scheme = record["scheme"].as_str().ok_or_else(|| bad("no scheme"))?;
    let model = record["model"].as_str().unwrap_or("?");
    let images = record["images"].as_f64().ok_or_else(|| bad("no images"))?;
    let infer = record["seconds"]["infer"]
        .as_f64()
        .ok_or_else(|| bad("no seconds.infer"))?;
    // Latency: how long one image's answer takes the server. A batch
    // answers all its images at once, after the whole batch.
    let latency = match packing {
        "slots" => record["params"]["median_latency_seconds"]
            .as_f64()
            .unwrap_or(infer / images),
        "batch" => infer / record["params"]["batches"].as_f64().unwrap_or(1.0),
        _ => infer / images,
    };
    Ok((
        format!("{packing} / {scheme} / {model}"),
        latency,
        images / infer,
    ))
}

/// Draws the records' points on log–log axes.
pub fn run(args: &PlotArgs) -> Result<(), String> {
    let points = args
        .records
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            let v: Value = serde_json::from_str(&text)
                .map_err(|e| format!("{}: not JSON: {e}", p.display()))?;
            point(&v, p)
        })
        .collect::<Result<Vec<_>, String>>()?;
    let (lat_min, lat_max) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.1), hi.max(p.1))
    });
    let (thr_min, thr_max) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.2), hi.max(p.2))
    });
    let path = &args.svg;
    let draw_err =
        |e: DrawingAreaErrorKind<std::io::Error>| format!("cannot draw {}: {e}", path.display());
    let root = SVGBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Encrypted MNIST inference: latency against throughput",
            ("sans-serif", 22),
        )
        .margin(20)
        .x_label_area_size(48)
        .y_label_area_size(70)
        .build_cartesian_2d(
            ((thr_min / 3.0)..(thr_max * 3.0)).log_scale(),
            ((lat_min / 3.0)..(lat_max * 3.0)).log_scale(),
        )
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("throughput (images per second, server)")
        .y_desc("latency (seconds until one image's answer)")
        .draw()
        .map_err(draw_err)?;
    for (i, (label, latency, throughput)) in points.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series([Circle::new((*throughput, *latency), 6, color.filled())])
            .map_err(draw_err)?
            .label(format!("{label}: {latency:.3} s, {throughput:.2} img/s"))
            .legend(move |(x, y)| Circle::new((x + 8, y), 5, color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        // Fast, frequent answers sit low and right; the corner they leave
        // free is the lower left.
        .position(SeriesLabelPosition::LowerLeft)
        .draw()
        .map_err(draw_err)?;
    root.present().map_err(draw_err)?;
    println!("drew {} runs into {}", points.len(), path.display());
    Ok(())
}
