//! Training charts as PNG files, in pure Rust: a small RGB canvas with lines, rectangles and a
//! built-in 5x7 bitmap font, "nice" axis ticks, and a PNG encoder (zlib through
//! `miniz_oxide`).
//!
//! [`training_chart`] draws two panels: the training loss of every step (raw and smoothed)
//! and the test accuracy after each epoch, each with axes, numbered ticks and a legend.
//!
//! ```
//! use rmlx_examples::plot::training_chart;
//! let losses: Vec<f32> = (0..200).map(|i| 2.3 / (1.0 + i as f32 / 20.0)).collect();
//! let png = training_chart("MLP on MNIST", &losses, &[0.95, 0.97, 0.98]);
//! assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
//! ```

use std::path::Path;

use anyhow::{Context, Result};

/// An RGB color.
pub type Rgb = [u8; 3];

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [30, 30, 30];
const GRID: Rgb = [225, 225, 225];
const LIGHT_BLUE: Rgb = [170, 200, 235];
const BLUE: Rgb = [31, 90, 180];
const ORANGE: Rgb = [230, 110, 20];

/// A picture being drawn: `width * height` RGB pixels, row-major, origin at the top left.
#[derive(Debug, Clone, PartialEq)]
pub struct Canvas {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// The pixels.
    pub pixels: Vec<Rgb>,
}

impl Canvas {
    /// A white canvas.
    pub fn new(width: usize, height: usize) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![WHITE; width * height],
        }
    }

    /// Sets one pixel (ignored outside the canvas).
    pub fn set(&mut self, x: i64, y: i64, color: Rgb) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            self.pixels[y as usize * self.width + x as usize] = color;
        }
    }

    /// Fills the rectangle with corners `(x0, y0)` and `(x1, y1)` (inclusive).
    pub fn fill(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, color: Rgb) {
        for y in y0.min(y1)..=y0.max(y1) {
            for x in x0.min(x1)..=x0.max(x1) {
                self.set(x, y, color);
            }
        }
    }

    /// A line `width` pixels thick from `(x0, y0)` to `(x1, y1)` (Bresenham).
    pub fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), width: i64, color: Rgb) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        let (lo, hi) = (-(width - 1) / 2, width / 2);
        loop {
            self.fill(x + lo, y + lo, x + hi, y + hi, color);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Draws `text` with its top-left corner at `(x, y)`, each font pixel `scale` pixels wide.
    /// Letters are drawn upper-case; characters the font lacks are drawn as spaces.
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: i64, color: Rgb) {
        for (i, c) in text.chars().enumerate() {
            let rows = glyph(c);
            let left = x + i as i64 * 6 * scale;
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        let (px, py) = (left + col * scale, y + r as i64 * scale);
                        self.fill(px, py, px + scale - 1, py + scale - 1, color);
                    }
                }
            }
        }
    }

    /// The PNG encoding of the canvas (8-bit RGB).
    pub fn to_png(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity(self.height * (1 + 3 * self.width));
        for row in self.pixels.chunks(self.width.max(1)) {
            raw.push(0); // filter: none
            for p in row {
                raw.extend_from_slice(p);
            }
        }
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&(self.width as u32).to_be_bytes());
        ihdr.extend_from_slice(&(self.height as u32).to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, no filter, no interlace
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut png, b"IHDR", &ihdr);
        chunk(
            &mut png,
            b"IDAT",
            &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6),
        );
        chunk(&mut png, b"IEND", &[]);
        png
    }
}

/// The width in pixels of `text` drawn at `scale`.
fn text_width(text: &str, scale: i64) -> i64 {
    (text.chars().count() as i64 * 6 - 1).max(0) * scale
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (IEEE), as PNG chunks use.
///
/// ```
/// assert_eq!(rmlx_examples::plot::crc32(b"IEND"), 0xae42_6082);
/// ```
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The 5x7 glyph of `c` (one byte per row, bit 4 the leftmost pixel).
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        ',' => [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '+' => [0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0],
        '=' => [0, 0, 0x1F, 0, 0x1F, 0, 0],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '/' => [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0],
        _ => [0; 7],
    }
}

/// Tick values for an axis spanning `lo..=hi`: about five "nice" numbers (1, 2 or 5 times a
/// power of ten apart), and the number of decimals their labels need.
///
/// ```
/// let (ticks, decimals) = rmlx_examples::plot::nice_ticks(0.0, 2.3);
/// assert_eq!(ticks, vec![0.0, 0.5, 1.0, 1.5, 2.0]);
/// assert_eq!(decimals, 1);
/// ```
pub fn nice_ticks(lo: f64, hi: f64) -> (Vec<f64>, usize) {
    let span = (hi - lo).abs().max(1e-12);
    let rough = span / 5.0;
    let mag = 10f64.powf(rough.log10().floor());
    // The candidate closest to `rough` on a log scale.
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .min_by(|a, b| (a / rough).ln().abs().total_cmp(&(b / rough).ln().abs()))
        .unwrap_or(mag);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let first = (lo.min(hi) / step).ceil() as i64;
    let last = (lo.max(hi) / step + 1e-9).floor() as i64;
    let ticks = (first..=last).map(|i| i as f64 * step).collect();
    (ticks, decimals)
}

/// One panel: a plot area, its data ranges, and the mapping from data to pixels.
struct Panel {
    left: i64,
    top: i64,
    right: i64,
    bottom: i64,
    x: (f64, f64),
    y: (f64, f64),
}

impl Panel {
    fn px(&self, x: f64, y: f64) -> (i64, i64) {
        let fx = (x - self.x.0) / (self.x.1 - self.x.0).max(1e-12);
        let fy = (y - self.y.0) / (self.y.1 - self.y.0).max(1e-12);
        (
            self.left + (fx * (self.right - self.left) as f64).round() as i64,
            self.bottom - (fy * (self.bottom - self.top) as f64).round() as i64,
        )
    }

    /// Frame, grid, numbered ticks, title and x label.
    fn axes(&self, c: &mut Canvas, title: &str, xlabel: &str, integer_x: bool) {
        let (yt, yd) = nice_ticks(self.y.0, self.y.1);
        for v in yt {
            let (_, py) = self.px(self.x.0, v);
            c.line((self.left, py), (self.right, py), 1, GRID);
            c.line((self.left - 5, py), (self.left, py), 1, BLACK);
            let label = format!("{v:.yd$}");
            c.text(
                self.left - 9 - text_width(&label, 2),
                py - 7,
                &label,
                2,
                BLACK,
            );
        }
        let (mut xt, mut xd) = nice_ticks(self.x.0, self.x.1);
        if integer_x {
            xt.retain(|v| v.fract() == 0.0);
            xd = 0;
        }
        for v in xt {
            let (px, _) = self.px(v, self.y.0);
            c.line((px, self.top), (px, self.bottom), 1, GRID);
            c.line((px, self.bottom), (px, self.bottom + 5), 1, BLACK);
            let label = format!("{v:.xd$}");
            c.text(
                px - text_width(&label, 2) / 2,
                self.bottom + 10,
                &label,
                2,
                BLACK,
            );
        }
        c.line((self.left, self.top), (self.left, self.bottom), 2, BLACK);
        c.line(
            (self.left, self.bottom),
            (self.right, self.bottom),
            2,
            BLACK,
        );
        let mid = (self.left + self.right) / 2;
        c.text(
            mid - text_width(title, 2) / 2,
            self.top - 26,
            title,
            2,
            BLACK,
        );
        c.text(
            mid - text_width(xlabel, 2) / 2,
            self.bottom + 34,
            xlabel,
            2,
            BLACK,
        );
    }

    /// A legend in the top-right (or bottom-right) corner: one line sample and label per
    /// entry.
    fn legend(&self, c: &mut Canvas, entries: &[(&str, Rgb)], bottom: bool) {
        let w = entries
            .iter()
            .map(|(l, _)| text_width(l, 2))
            .max()
            .unwrap_or(0)
            + 50;
        let h = entries.len() as i64 * 22 + 8;
        let x0 = self.right - w - 10;
        let y0 = if bottom {
            self.bottom - h - 10
        } else {
            self.top + 10
        };
        c.fill(x0, y0, x0 + w, y0 + h, WHITE);
        for (x, y) in [(x0, y0), (x0 + w, y0 + h)] {
            c.line((x0, y), (x0 + w, y), 1, BLACK);
            c.line((x, y0), (x, y0 + h), 1, BLACK);
        }
        for (i, (label, color)) in entries.iter().enumerate() {
            let y = y0 + 12 + i as i64 * 22;
            c.line((x0 + 8, y + 6), (x0 + 36, y + 6), 3, *color);
            c.text(x0 + 44, y, label, 2, BLACK);
        }
    }

    fn polyline(&self, c: &mut Canvas, points: &[(f64, f64)], width: i64, color: Rgb) {
        for w in points.windows(2) {
            c.line(
                self.px(w[0].0, w[0].1),
                self.px(w[1].0, w[1].1),
                width,
                color,
            );
        }
        if let [(x, y)] = points {
            let (px, py) = self.px(*x, *y);
            c.fill(px - 2, py - 2, px + 2, py + 2, color);
        }
    }
}

/// Draws the training chart: the loss of each step (raw, and a moving average over about 2%
/// of the steps) and the test accuracy (in %) after each epoch. `title` goes on top.
pub fn render_training_chart(title: &str, step_losses: &[f32], test_accuracy: &[f64]) -> Canvas {
    let mut c = Canvas::new(1200, 520);
    c.text(600 - text_width(title, 3) / 2, 14, title, 3, BLACK);

    // Loss per step.
    let losses: Vec<f64> = step_losses
        .iter()
        .map(|&l| f64::from(l))
        .filter(|l| l.is_finite())
        .collect();
    let ymax = losses.iter().cloned().fold(0.0f64, f64::max).max(1e-3);
    let loss_panel = Panel {
        left: 90,
        top: 90,
        right: 570,
        bottom: 440,
        x: (1.0, (losses.len() as f64).max(2.0)),
        y: (0.0, ymax * 1.05),
    };
    loss_panel.axes(&mut c, "TRAINING LOSS", "STEP", true);
    let raw: Vec<(f64, f64)> = losses
        .iter()
        .enumerate()
        .map(|(i, &l)| ((i + 1) as f64, l))
        .collect();
    loss_panel.polyline(&mut c, &raw, 1, LIGHT_BLUE);
    let window = (losses.len() / 50).max(1);
    let mut smooth = Vec::new();
    let mut sum = 0.0;
    for (i, &l) in losses.iter().enumerate() {
        sum += l;
        if i >= window {
            sum -= losses[i - window];
        }
        let n = (i + 1).min(window);
        smooth.push(((i + 1) as f64, sum / n as f64));
    }
    loss_panel.polyline(&mut c, &smooth, 3, BLUE);
    loss_panel.legend(
        &mut c,
        &[("PER STEP", LIGHT_BLUE), ("SMOOTHED", BLUE)],
        false,
    );

    // Accuracy per epoch.
    let acc: Vec<(f64, f64)> = test_accuracy
        .iter()
        .enumerate()
        .map(|(i, &a)| ((i + 1) as f64, 100.0 * a))
        .filter(|(_, a)| a.is_finite())
        .collect();
    let lo = acc.iter().map(|p| p.1).fold(100.0f64, f64::min);
    let hi = acc.iter().map(|p| p.1).fold(0.0f64, f64::max).max(lo);
    let pad = ((hi - lo) * 0.15).max(0.25);
    let acc_panel = Panel {
        left: 700,
        top: 90,
        right: 1170,
        bottom: 440,
        x: (
            if acc.len() > 1 { 1.0 } else { 0.0 },
            (acc.len() as f64).max(2.0),
        ),
        y: ((lo - pad).max(0.0), (hi + pad).min(100.0)),
    };
    acc_panel.axes(&mut c, "TEST ACCURACY (%)", "EPOCH", true);
    acc_panel.polyline(&mut c, &acc, 3, ORANGE);
    for &(x, y) in &acc {
        let (px, py) = acc_panel.px(x, y);
        c.fill(px - 4, py - 4, px + 4, py + 4, ORANGE);
    }
    let legend = match acc.last() {
        Some((_, a)) => format!("TEST {a:.2}%"),
        None => "TEST".to_string(),
    };
    // Accuracy rises: the bottom-right corner is free.
    acc_panel.legend(&mut c, &[(legend.as_str(), ORANGE)], true);
    c
}

/// The PNG bytes of [`render_training_chart`].
pub fn training_chart(title: &str, step_losses: &[f32], test_accuracy: &[f64]) -> Vec<u8> {
    render_training_chart(title, step_losses, test_accuracy).to_png()
}

/// Writes [`training_chart`] to `path`.
pub fn write_training_chart(
    path: &Path,
    title: &str,
    step_losses: &[f32],
    test_accuracy: &[f64],
) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    }
    std::fs::write(path, training_chart(title, step_losses, test_accuracy))
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice() {
        assert_eq!(nice_ticks(1.0, 235.0).0, vec![50.0, 100.0, 150.0, 200.0]);
        let (t, d) = nice_ticks(97.1, 98.4);
        assert_eq!(d, 1);
        assert_eq!(t.len(), 7, "{t:?}");
        assert_eq!(nice_ticks(0.0, 0.0).0, vec![0.0]);
    }

    #[test]
    fn text_and_lines_draw_pixels() {
        let mut c = Canvas::new(40, 20);
        c.text(1, 1, "1", 1, BLACK);
        // The foot of the "1" is 3 pixels wide on row 6.
        assert_eq!(c.pixels[7 * 40 + 2..7 * 40 + 5], [BLACK; 3]);
        c.line((0, 19), (39, 19), 1, BLUE);
        assert!(c.pixels[19 * 40..].iter().all(|p| *p == BLUE));
        c.set(-1, 100, BLUE); // outside: ignored
    }
}
