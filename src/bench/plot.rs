//! NTT throughput as an SVG line chart: butterflies per nanosecond against
//! the ring degree, one line per kernel path, prime size and direction.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;

use super::{Record, Schema};

/// Draws the NTT records of `records` into an SVG file at `path`.
///
/// Records without a throughput (other schemes) are ignored; an error is
/// returned when there is nothing to draw or the file cannot be written.
pub fn plot_ntt_throughput(records: &[Record], path: &Path) -> Result<(), String> {
    // (label) -> [(log2 n, butterflies/ns)]
    let mut lines: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.scheme == Schema::Ntt) {
        let (Some(n), Some(bits), Some(kernel), Some(bfly)) = (
            r.params["n"].as_u64(),
            r.params["log_p"].as_u64(),
            r.params["path"].as_str(),
            r.butterflies_per_ns,
        ) else {
            continue;
        };
        let dir = r.op.trim_start_matches("ntt_");
        lines
            .entry(format!("{kernel} {bits}-bit {dir}"))
            .or_default()
            .push(((n as f64).log2(), bfly));
    }
    if lines.is_empty() {
        return Err("no NTT records to plot".into());
    }
    let points = lines.values().flatten();
    let (x_min, x_max) = points.clone().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.0), hi.max(p.0))
    });
    // Headroom above the data keeps the legend clear of the lines.
    let y_max = points.fold(0.0f64, |m, p| m.max(p.1)) * 1.8;

    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    let draw_err =
        |e: DrawingAreaErrorKind<std::io::Error>| format!("cannot draw {}: {e}", path.display());
    root.fill(&WHITE).map_err(draw_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("hefty-ntt throughput (single thread)", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d((x_min - 0.25)..(x_max + 0.25), 0.0..y_max)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("ring degree n")
        .y_desc("butterflies per ns")
        .x_labels((x_max - x_min).round() as usize + 1)
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-6 {
                format!("2^{}", x.round())
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(draw_err)?;
    for (i, (label, mut pts)) in lines.into_iter().enumerate() {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let color = Palette99::pick(i).to_rgba();
        let style = ShapeStyle::from(color).stroke_width(2);
        chart
            .draw_series(LineSeries::new(pts.clone(), style))
            .map_err(draw_err)?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
            .map_err(draw_err)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(draw_err)?;
    root.present().map_err(draw_err)
}
