//! The page's SVG charts: overdue money by aging bucket, net positions, prepayment usage.
//!
//! Drawn here rather than by a charting library: each bar carries its exact amount as an SVG
//! `<title>` (what a reader hovers to check a figure against the tables), and bar widths are
//! computed from the exact decimals. `plotters`' SVG backend was considered (ARCHITECTURE.md,
//! "Dependencies and why"); it has no per-element title and draws through `f64` coordinates.
//! The markup goes through maud like the rest of the page, so every label is escaped.

use maud::{html, Markup};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use yidi_clearing::book::{Overdue, Positions, Prepayment};
use yidi_clearing::overdue::BUCKETS;
use yidi_domain::money::Amount;

/// The fill of each aging bucket, from the youngest debt to the oldest.
const COLOURS: [&str; 4] = ["#f2c94c", "#f2994a", "#eb5757", "#9b2226"];
/// The drawing width of every chart, in pixels.
const WIDTH: usize = 620;

/// The share of `full` pixels that `value` is of `max`; amounts stay exact until the pixel.
fn width(value: Amount, max: Amount, full: u32) -> usize {
    if max.is_zero() {
        return 0;
    }
    let share = (value.value() * Decimal::from(full) / max.value()).abs();
    usize::try_from(share.round().to_u32().unwrap_or(0).min(full)).unwrap_or(0)
}

/// One stacked bar per province: its overdue money split by aging bucket, with a legend.
pub(super) fn aging(provinces: &[Overdue]) -> Markup {
    let max = provinces.iter().map(|o| o.overdue).max().unwrap_or_default();
    let height = 28 * provinces.len().max(1) + 30;
    let legend_y = 28 * provinces.len() + 20;
    html! {
        svg class="chart" width=(WIDTH) height=(height) role="img"
            aria-label="overdue by aging bucket" {
            @for (row, o) in provinces.iter().enumerate() {
                @let y = 28 * row + 4;
                @let (segments, end) = stacked(o, max);
                text x="0" y=(y + 14) font-size="12" { (o.province) }
                @for (bucket, x, w) in segments {
                    rect x=(x) y=(y) width=(w) height="18" fill=(COLOURS[bucket]) {
                        title { (BUCKETS[bucket]) " days: " (o.aging[bucket]) }
                    }
                }
                text x=(end + 6) y=(y + 14) font-size="11" { (o.overdue) }
            }
            @for (bucket, label) in BUCKETS.iter().enumerate() {
                @let x = 70 + bucket * 110;
                rect x=(x) y=(legend_y - 10) width="12" height="12" fill=(COLOURS[bucket]) {}
                text x=(x + 16) y=(legend_y) font-size="11" { (label) " days" }
            }
        }
    }
}

/// The drawn segments of a province's aging bar, `(bucket, x, width)`, and where it ends.
fn stacked(o: &Overdue, max: Amount) -> (Vec<(usize, usize, usize)>, usize) {
    let mut x = 70;
    let mut segments = Vec::new();
    for (bucket, amount) in o.aging.iter().enumerate() {
        let w = width(*amount, max, 440);
        if w > 0 {
            segments.push((bucket, x, w));
        }
        x += w;
    }
    (segments, x)
}

/// Each province's net position as a bar left (owes) or right (is owed) of the axis.
pub(super) fn net(p: &Positions) -> Markup {
    let max = p.netting.net.values().map(|a| if a.is_negative() { a.negated() } else { *a }).max();
    let max = max.unwrap_or_default();
    let height = 26 * p.netting.net.len().max(1) + 8;
    html! {
        svg class="chart" width=(WIDTH) height=(height) role="img" aria-label="net positions" {
            line x1="320" y1="0" x2="320" y2=(height) stroke="#888" {}
            @for (row, (province, net)) in p.netting.net.iter().enumerate() {
                @let y = 26 * row + 4;
                @let w = width(*net, max, 220);
                @let (x, fill) =
                    if net.is_negative() { (320 - w, "#eb5757") } else { (320, "#27ae60") };
                text x="0" y=(y + 14) font-size="12" { (province) }
                rect x=(x) y=(y) width=(w) height="18" fill=(fill) { title { (net) } }
                text x="550" y=(y + 14) font-size="11" { (net) }
            }
        }
    }
}

/// Each pair's prepayment usage against the top-up line.
pub(super) fn prepayment(prepayments: &[Prepayment]) -> Markup {
    let height = 24 * prepayments.len().max(1) + 8;
    let hundred = Amount::round2(Decimal::ONE);
    html! {
        svg class="chart" width=(WIDTH) height=(height) role="img" aria-label="prepayment usage" {
            @for (row, p) in prepayments.iter().enumerate() {
                @let y = 24 * row + 4;
                @let used = Amount::round2(p.usage.usage.min(Decimal::ONE));
                @let fill = if p.usage.warning { "#eb5757" } else { "#2d9cdb" };
                text x="0" y=(y + 13) font-size="11" { (p.insured) "→" (p.treatment) }
                rect x="110" y=(y) width="400" height="16" fill="#eee" {}
                rect x="110" y=(y) width=(width(used, hundred, 400)) height="16" fill=(fill) {}
                text x="520" y=(y + 13) font-size="11" {
                    ((p.usage.usage * Decimal::from(100)).round_dp(1)) "%"
                }
            }
            line x1="390" y1="0" x2="390" y2=(height) stroke="#333" stroke-dasharray="4" {}
        }
    }
}
