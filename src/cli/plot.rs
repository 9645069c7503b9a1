//! `--plot FILE.svg`: the residual histogram drawn on a symmetric log scale, with ±δ marked and
//! the share of residuals in the linear regime (`|r| ≥ δ`) written beside each δ, so that one can
//! see at a glance whether δ suits the data.
//!
//! The x axis is "symlog": linear for `|r| < c` and logarithmic beyond, where `c` is a power of
//! ten chosen from the data (below the bulk of the residuals and below every δ). Bars are the
//! histogram's octaves; their height is the share of residuals per octave of `|r|`, so bars of
//! different widths (the one around zero) stay comparable.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use svg::Document;
use svg::node::element::{Group, Line, Rectangle, Text};

use crate::cli::output::Destination;
use huber_core::loss::Loss;
use huber_engine::histogram::{MIN_EXP, ResidualHistogram};

/// Picture size and plot area, in SVG pixels.
const WIDTH: f64 = 860.0;
const X0: f64 = 90.0;
const X1: f64 = 830.0;
const Y0: f64 = 92.0;
const Y1: f64 = 422.0;
/// Thresholds marked at most: a sweep of thousands of δ would otherwise make a picture of
/// thousands of legend rows.
const MAX_MARKED: usize = 24;
/// Height of the part below the plot area before the legend.
const LEGEND_TOP: f64 = 500.0;
const LEGEND_ROW: f64 = 24.0;

const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";
const BAR: &str = "#4c72b0";
const INK: &str = "#222222";
const GRID: &str = "#e4e4e4";
/// One colour per threshold, cycled.
const MARKS: [&str; 6] = [
    "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
];

/// Renders the histogram into a temporary file beside `path`. The caller commits it once the
/// whole run has succeeded, so that a failed run leaves an existing picture untouched and makes
/// no new one.
pub fn prepare(
    path: &Path,
    hist: &ResidualHistogram,
    inputs: &str,
    symbol: &str,
) -> Result<Destination> {
    let mut dest = Destination::file(path)?;
    dest.writer()
        .write_all(
            render(
                hist,
                &huber_engine::message::escape_controls(inputs),
                symbol,
            )
            .as_bytes(),
        )
        .with_context(|| path.display().to_string())?;
    Ok(dest)
}

/// The symbol the thresholds of `losses` go by: β for smooth-l1, else δ.
pub fn symbol(losses: &[Loss]) -> &'static str {
    match losses.first().and_then(|l| l.param()) {
        Some((p, _)) => p.symbol(),
        None => "δ",
    }
}

/// The picture as an SVG document. `inputs` says where the residuals come from; `symbol` names
/// the thresholds (`δ` or `β`).
pub fn render(hist: &ResidualHistogram, inputs: &str, symbol: &str) -> String {
    let axis = Axis::for_data(hist);
    let bars = bars(hist, axis.c);
    let n = hist.count();
    let ymax = bars
        .iter()
        .map(|b| b.height(&axis, n))
        .fold(0.0_f64, f64::max);
    let (ystep, ytop) = nice_scale(ymax);
    let frame = Frame { axis, ytop };

    let shown = &hist.thresholds()[..hist.thresholds().len().min(MAX_MARKED)];
    let hidden = hist.thresholds().len() - shown.len();
    let rows = shown.len().max(1) + usize::from(hidden > 0);
    let height = LEGEND_TOP + LEGEND_ROW * rows as f64 + 10.0;
    let mut doc = Document::new()
        .set("xmlns", "http://www.w3.org/2000/svg")
        .set("width", WIDTH)
        .set("height", height)
        .set("viewBox", (0, 0, WIDTH, height))
        .set("font-family", FONT)
        .add(rect(0.0, 0.0, WIDTH, height, "white"))
        .add(
            text(X0, 30.0, 18.0, "start", "Residuals r = pred − target").set("font-weight", "bold"),
        )
        .add(text(X0, 52.0, 13.0, "start", inputs).set("fill", "#555555"))
        .add(text(X0, 71.0, 13.0, "start", &subtitle(hist, axis.exp)).set("fill", "#555555"))
        .add(frame.shading(shown))
        .add(frame.y_axis(ystep))
        .add(frame.bars(&bars, n))
        .add(frame.x_axis())
        .add(frame.thresholds(hist, shown, symbol))
        .add(
            rect(X0, Y0, X1 - X0, Y1 - Y0, "none")
                .set("stroke", INK)
                .set("stroke-width", 1),
        );
    if n == 0 {
        doc = doc.add(text(
            (X0 + X1) / 2.0,
            (Y0 + Y1) / 2.0,
            16.0,
            "middle",
            "no residuals",
        ));
    }
    let mut out = doc.to_string();
    out.push('\n');
    out
}

/// The plot area's mapping from residuals (through the symlog [`Axis`]) and shares to pixels.
struct Frame {
    axis: Axis,
    /// The share at the top of the y axis.
    ytop: f64,
}

impl Frame {
    fn px(&self, u: f64) -> f64 {
        X0 + (u + self.axis.span) / (2.0 * self.axis.span) * (X1 - X0)
    }

    fn py(&self, h: f64) -> f64 {
        Y1 - h / self.ytop * (Y1 - Y0)
    }

    /// Threshold regions, drawn behind everything: each δ tints |r| ≥ δ a little, so the tails
    /// beyond several δ are darker.
    fn shading(&self, shown: &[f64]) -> Group {
        let span = self.axis.span;
        let mut shading = Group::new().set("id", "linear-regions");
        for &d in shown {
            let u = self.axis.u(d).min(span);
            for (a, b) in [(-span, -u), (u, span)] {
                if b > a {
                    let (xa, xb) = (self.px(a), self.px(b));
                    shading =
                        shading.add(rect(xa, Y0, xb - xa, Y1 - Y0, "#000000").set("opacity", 0.05));
                }
            }
        }
        shading
    }

    /// Grid lines and ticks every `ystep`, and the axis title.
    fn y_axis(&self, ystep: f64) -> Group {
        let mut grid = Group::new().set("id", "y-axis");
        let mut y = 0.0;
        while y <= self.ytop * (1.0 + 1e-9) {
            let py = self.py(y);
            grid = grid.add(line(X0, py, X1, py, GRID, 1.0)).add(text(
                X0 - 8.0,
                py + 4.0,
                12.0,
                "end",
                &fmt_percent_tick(y, ystep),
            ));
            y += ystep;
        }
        grid.add(
            text(
                0.0,
                0.0,
                13.0,
                "middle",
                "share of residuals, % per octave of |r|",
            )
            .set(
                "transform",
                format!("translate(24 {}) rotate(-90)", (Y0 + Y1) / 2.0),
            ),
        )
    }

    fn bars(&self, bars: &[Bar], n: u64) -> Group {
        let mut group = Group::new().set("id", "bars");
        for b in bars {
            let (a, z) = (self.px(self.axis.u(b.lo)), self.px(self.axis.u(b.hi)));
            let top = self.py(b.height(&self.axis, n));
            group = group.add(
                rect(a, top, z - a, Y1 - top, BAR)
                    .set("stroke", "white")
                    .set("stroke-width", 0.6),
            );
        }
        group
    }

    /// The x axis: decades labelled, 2…9 as minor ticks, the linear band marked.
    fn x_axis(&self) -> Group {
        let mut xaxis = Group::new()
            .set("id", "x-axis")
            .add(line(X0, Y1, X1, Y1, INK, 1.0));
        let decades = self.axis.span.round() as i32;
        let every = if decades > 6 { 2 } else { 1 };
        for k in -decades..=decades {
            let x = self.px(f64::from(k));
            xaxis = xaxis.add(line(x, Y1, x, Y1 + 6.0, INK, 1.0));
            if k % every == 0 || k.abs() == 1 {
                let label = match k {
                    0 => "0".to_string(),
                    _ => {
                        let sign = if k < 0 { "−" } else { "" };
                        format!("{sign}{}", fmt_pow10(self.axis.exp + k.abs() - 1))
                    }
                };
                xaxis = xaxis.add(text(x, Y1 + 21.0, 12.0, "middle", &label));
            }
            if k != 0 && k.abs() < decades {
                xaxis = self.minor_ticks(xaxis, k);
            }
        }
        let (la, lz) = (self.px(-1.0), self.px(1.0));
        xaxis
            .add(line(la, Y1 + 1.5, lz, Y1 + 1.5, "#888888", 3.0))
            .add(text(
                (X0 + X1) / 2.0,
                Y1 + 44.0,
                13.0,
                "middle",
                &format!(
                    "residual r = pred − target (symmetric log scale; linear for |r| < {})",
                    fmt_pow10(self.axis.exp)
                ),
            ))
    }

    /// Ticks at 2…9 times the decade `k` (on the side of zero that `k` is on).
    fn minor_ticks(&self, mut xaxis: Group, k: i32) -> Group {
        for m in 2..=9 {
            let u = f64::from(k.abs()) + f64::from(m).log10();
            for s in [-1.0, 1.0] {
                if (s < 0.0) == (k < 0) {
                    let x = self.px(s * u);
                    xaxis = xaxis.add(line(x, Y1, x, Y1 + 3.5, INK, 0.8));
                }
            }
        }
        xaxis
    }

    /// Dashed lines at ±δ and one legend row each, with a note for thresholds not drawn.
    fn thresholds(&self, hist: &ResidualHistogram, shown: &[f64], symbol: &str) -> Group {
        let mut marks = Group::new().set("id", "thresholds");
        for (i, &d) in shown.iter().enumerate() {
            marks = marks.add(self.threshold(hist, i, d, symbol));
        }
        let hidden = hist.thresholds().len() - shown.len();
        if hidden > 0 {
            marks = marks.add(text(
                X0,
                LEGEND_TOP + LEGEND_ROW * shown.len() as f64,
                13.0,
                "start",
                &format!("and {hidden} more thresholds, not drawn"),
            ));
        }
        if hist.thresholds().is_empty() {
            marks = marks.add(text(
                X0,
                LEGEND_TOP,
                13.0,
                "start",
                "this loss has no threshold; give --loss huber -d … to mark δ",
            ));
        }
        marks
    }

    /// The `i`th threshold `d`: its lines at ±d when the axis reaches them, and its legend row.
    fn threshold(&self, hist: &ResidualHistogram, i: usize, d: f64, symbol: &str) -> Group {
        let colour = MARKS[i % MARKS.len()];
        let mut g = Group::new()
            .set("class", "threshold")
            .set("data-threshold", d)
            .set("data-linear-share", hist.beyond_share(i));
        if self.axis.shows(d) {
            let u = self.axis.u(d);
            // Labels outside their line and one row lower per threshold, so close δs stay legible.
            let y = Y0 + 16.0 + 16.0 * i as f64;
            for (s, tag, anchor) in [(-1.0, "−", "end"), (1.0, "+", "start")] {
                let x = self.px(s * u);
                g = g
                    .add(
                        line(x, Y0, x, Y1, colour, 2.0)
                            .set("stroke-dasharray", "6 4")
                            .set("class", "delta-mark"),
                    )
                    .add(
                        text(x + 4.0 * s, y, 12.0, anchor, &format!("{tag}{symbol}"))
                            .set("fill", colour)
                            .set("font-weight", "bold"),
                    );
            }
        }
        let off_axis = if self.axis.shows(d) {
            ""
        } else {
            " · off the axis, which ends near the largest residual"
        };
        let y = LEGEND_TOP + LEGEND_ROW * i as f64;
        g.add(line(X0, y - 4.0, X0 + 34.0, y - 4.0, colour, 2.5).set("stroke-dasharray", "6 4"))
            .add(text(
                X0 + 44.0,
                y,
                13.0,
                "start",
                &format!(
                    "{symbol} = {d}: {} of residuals in the linear regime (|r| ≥ {symbol}){off_axis}",
                    fmt_share(hist.beyond_share(i)),
                ),
            ))
    }
}

/// The symlog mapping: `u = r / c` for `|r| < c`, `sign(r) · (1 + log10(|r| / c))` beyond.
#[derive(Debug, Clone, Copy)]
struct Axis {
    /// `c = 10^exp`.
    c: f64,
    exp: i32,
    /// The axis shows `−span ≤ u ≤ span`, a whole number of decades.
    span: f64,
}

impl Axis {
    fn u(&self, r: f64) -> f64 {
        let z = r.abs();
        let q = z / self.c;
        let u = if z < self.c {
            q
        } else if q.is_finite() {
            1.0 + q.log10()
        } else {
            // z / c overflows for thresholds near f64::MAX.
            1.0 + z.log10() - f64::from(self.exp)
        };
        u.copysign(r)
    }

    /// Whether the axis reaches `r`.
    fn shows(&self, r: f64) -> bool {
        self.u(r) <= self.span
    }

    /// Puts `c` below all but about 2 % of the non-zero residuals and a decade below the
    /// smallest threshold, with at most [`MAX_DECADES`] decades from `c` to the largest |r|.
    fn for_data(hist: &ResidualHistogram) -> Axis {
        const MAX_DECADES: i32 = 8;
        const BEYOND_DATA: f64 = 2.0;
        let (neg, pos) = hist.octaves();
        let top_octave = (0..neg.len()).rev().find(|&k| neg[k] + pos[k] > 0);
        let largest = top_octave.map_or(1.0, |k| octave_edge(k + 1));
        let smallest_threshold = hist
            .thresholds()
            .iter()
            .copied()
            .filter(|d| d.is_finite())
            .fold(f64::INFINITY, f64::min);
        let start =
            (largest.log10().ceil() as i32 - 1).min(smallest_threshold.log10().floor() as i32 - 1);
        let floor = largest.log10().ceil() as i32 - MAX_DECADES;
        let nonzero: u64 = neg.iter().chain(pos).sum();
        let mut exp = start.max(floor);
        while exp > floor {
            let c = 10f64.powi(exp);
            let below: u64 = (0..neg.len())
                .take_while(|&k| octave_edge(k + 1) <= c)
                .map(|k| neg[k] + pos[k])
                .sum();
            if below as f64 <= 0.02 * nonzero as f64 {
                break;
            }
            exp -= 1;
        }
        let c = 10f64.powi(exp);
        let mut axis = Axis { c, exp, span: 1.0 };
        // The axis follows the data: thresholds up to BEYOND_DATA decades past the largest
        // residual are drawn, larger ones only named in the legend, so that the picture stays
        // small for any δ.
        let data = axis.u(largest);
        let limit = data.ceil() + BEYOND_DATA;
        let reach = hist
            .thresholds()
            .iter()
            .map(|&d| axis.u(d) + 0.3)
            .filter(|&u| u <= limit)
            .fold(data, f64::max);
        axis.span = reach.ceil().max(2.0);
        axis
    }
}

/// `2^(MIN_EXP + k)`, the lower edge of octave `k`.
fn octave_edge(k: usize) -> f64 {
    2f64.powi(MIN_EXP + k as i32)
}

/// One bar: `count` residuals with `lo ≤ r < hi`.
struct Bar {
    lo: f64,
    hi: f64,
    count: u64,
}

impl Bar {
    /// Percent of the `n` residuals per octave of width on the axis.
    fn height(&self, axis: &Axis, n: u64) -> f64 {
        let width = axis.u(self.hi) - axis.u(self.lo);
        100.0 * self.count as f64 / n.max(1) as f64 / (width / 2f64.log10())
    }
}

/// The octaves as bars; those wholly inside the linear band (and the zeros) make one bar
/// around 0.
fn bars(hist: &ResidualHistogram, c: f64) -> Vec<Bar> {
    let (neg, pos) = hist.octaves();
    let inner = (0..neg.len())
        .take_while(|&k| octave_edge(k + 1) <= c)
        .count();
    let edge = octave_edge(inner);
    let centre = hist.zero() + neg[..inner].iter().chain(&pos[..inner]).sum::<u64>();
    let mut bars = vec![Bar {
        lo: -edge,
        hi: edge,
        count: centre,
    }];
    for k in inner..neg.len() {
        let (lo, hi) = (octave_edge(k), octave_edge(k + 1));
        if neg[k] > 0 {
            bars.push(Bar {
                lo: -hi,
                hi: -lo,
                count: neg[k],
            });
        }
        if pos[k] > 0 {
            bars.push(Bar {
                lo,
                hi,
                count: pos[k],
            });
        }
    }
    bars.retain(|b| b.count > 0);
    bars
}

fn subtitle(hist: &ResidualHistogram, exp: i32) -> String {
    let c = 10f64.powi(exp);
    let mut s = format!("{} residuals", group_thousands(hist.count()));
    if hist.zero() > 0 {
        let _ = write!(
            s,
            " · {} exactly 0 (or below 1e-18)",
            group_thousands(hist.zero())
        );
    }
    let inner = hist.count() - hist.zero();
    let (neg, pos) = hist.octaves();
    let small: u64 = (0..neg.len())
        .take_while(|&k| octave_edge(k + 1) <= c)
        .map(|k| neg[k] + pos[k])
        .sum();
    if small > 0 && inner > 0 {
        let _ = write!(
            s,
            " · {} with 0 < |r| < {} in the bar at 0",
            group_thousands(small),
            fmt_pow10(exp)
        );
    }
    let [lo, hi] = hist.overflow();
    if lo + hi > 0 {
        let _ = write!(
            s,
            " · {} beyond ±1.8e19 not drawn",
            group_thousands(lo + hi)
        );
    }
    if hist.nan() > 0 {
        let _ = write!(s, " · {} NaN not counted", group_thousands(hist.nan()));
    }
    s
}

/// A step of 1, 2 or 5 × 10^k giving about five ticks, and the top of the axis.
fn nice_scale(max: f64) -> (f64, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (20.0, 100.0);
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    (step, (max / step).ceil() * step)
}

fn fmt_percent_tick(y: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{y:.decimals$} %")
}

fn fmt_share(share: f64) -> String {
    let pct = 100.0 * share;
    if pct.is_nan() {
        "no".to_string()
    } else if pct > 0.0 && pct < 0.1 {
        "< 0.1 %".to_string()
    } else if pct < 100.0 && pct > 99.9 {
        "> 99.9 %".to_string()
    } else {
        format!("{pct:.1} %")
    }
}

/// `10^e` written as people write axis labels: 0.001 … 10000, else 1e-5, 1e6.
fn fmt_pow10(e: i32) -> String {
    match e {
        -3..=-1 => format!("0.{}1", "0".repeat((-e - 1) as usize)),
        0..=4 => format!("1{}", "0".repeat(e as usize)),
        _ => format!("1e{e}"),
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn rect(x: f64, y: f64, w: f64, h: f64, fill: &str) -> Rectangle {
    Rectangle::new()
        .set("x", x)
        .set("y", y)
        .set("width", w)
        .set("height", h)
        .set("fill", fill)
}

fn line(x1: f64, y1: f64, x2: f64, y2: f64, colour: &str, width: f64) -> Line {
    Line::new()
        .set("x1", x1)
        .set("y1", y1)
        .set("x2", x2)
        .set("y2", y2)
        .set("stroke", colour)
        .set("stroke-width", width)
}

fn text(x: f64, y: f64, size: f64, anchor: &str, content: &str) -> Text {
    Text::new(content)
        .set("x", x)
        .set("y", y)
        .set("font-size", size)
        .set("text-anchor", anchor)
        .set("fill", INK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(fmt_pow10(-3), "0.001");
        assert_eq!(fmt_pow10(0), "1");
        assert_eq!(fmt_pow10(3), "1000");
        assert_eq!(fmt_pow10(-5), "1e-5");
        assert_eq!(group_thousands(1234567), "1,234,567");
        assert_eq!(nice_scale(23.0), (5.0, 25.0));
        assert_eq!(fmt_share(0.123), "12.3 %");
    }

    #[test]
    fn axis_keeps_thresholds_in_the_log_region() {
        let mut h = ResidualHistogram::new(&[0.5, 2.0]);
        let p: Vec<f64> = (1..=1000).map(|i| (i as f64 - 500.5) / 100.0).collect();
        h.add(&p, &vec![0.0; p.len()]);
        let axis = Axis::for_data(&h);
        assert!(axis.c <= 0.05, "{axis:?}");
        assert!(axis.u(2.0) < axis.span);
        let svg = render(&h, "t", "δ");
        assert_eq!(svg.matches("class=\"delta-mark\"").count(), 4);
    }

    #[test]
    fn huge_thresholds_do_not_stretch_the_axis() {
        for d in [1e30, 1e300, f64::MAX, f64::INFINITY] {
            let mut h = ResidualHistogram::new(&[0.5, d]);
            let p = [0.25, -1.0, 2.0, 3.0];
            h.add(&p, &[0.0; 4]);
            let axis = Axis::for_data(&h);
            assert!(axis.span <= 12.0, "{d}: {axis:?}");
            let svg = render(&h, "t", "δ");
            assert!(svg.len() < 100_000, "{d}: {} bytes", svg.len());
            assert_eq!(svg.matches("class=\"delta-mark\"").count(), 2, "{d}");
            assert!(svg.contains("off the axis"), "{d}");
        }
        let many: Vec<f64> = (1..=10_000).map(|i| f64::from(i) / 1000.0).collect();
        let mut h = ResidualHistogram::new(&many);
        h.add(&[0.5, 2.0], &[0.0; 2]);
        let svg = render(&h, "t", "δ");
        assert!(svg.len() < 100_000, "{} bytes", svg.len());
        assert!(svg.contains("and 9976 more thresholds, not drawn"));
    }
}
