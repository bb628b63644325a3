//! Small server-rendered SVG charts for the admin analytics: no script and no
//! chart library, readable by screen readers through `<title>` and a table.

/// Escapes text for SVG content and attributes.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A vertical bar chart of `values` over `labels`.
pub fn bars(title: &str, labels: &[String], values: &[f64], unit: &str) -> String {
    let (w, h, pad_l, pad_b, pad_t) = (640.0, 220.0, 48.0, 36.0, 16.0);
    let max = values.iter().cloned().fold(0.0_f64, f64::max).max(1.0);
    let n = values.len().max(1) as f64;
    let slot = (w - pad_l - 8.0) / n;
    let bar = (slot * 0.7).max(2.0);
    let plot_h = h - pad_b - pad_t;
    let mut out = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = esc(title)
    );
    // Axis and the top gridline with the maximum.
    out.push_str(&format!(
        r#"<line x1="{pad_l}" y1="{y0}" x2="{w}" y2="{y0}" class="axis"/><line x1="{pad_l}" y1="{pad_t}" x2="{w}" y2="{pad_t}" class="grid"/><text x="{tx}" y="{ty}" class="tick" text-anchor="end">{m}</text><text x="{tx}" y="{y0}" class="tick" text-anchor="end">0</text>"#,
        y0 = h - pad_b,
        tx = pad_l - 6.0,
        ty = pad_t + 4.0,
        m = esc(&format!("{}{}", fmt_num(max), unit)),
    ));
    for (i, (label, v)) in labels.iter().zip(values).enumerate() {
        let bh = v / max * plot_h;
        let x = pad_l + slot * i as f64 + (slot - bar) / 2.0;
        let y = h - pad_b - bh;
        out.push_str(&format!(
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{bh:.1}" class="bar"><title>{l}: {val}</title></rect>"#,
            l = esc(label),
            val = esc(&format!("{}{}", fmt_num(*v), unit)),
        ));
        // Label every bar when few, else every few.
        let every = (labels.len() / 7).max(1);
        if i % every == 0 {
            out.push_str(&format!(
                r#"<text x="{cx:.1}" y="{ly}" class="tick" text-anchor="middle">{l}</text>"#,
                cx = x + bar / 2.0,
                ly = h - pad_b + 16.0,
                l = esc(label),
            ));
        }
    }
    out.push_str("</svg>");
    out
}

/// A horizontal bar chart, for rankings such as the top users.
pub fn ranking(title: &str, rows: &[(String, f64)], unit: &str) -> String {
    let row_h = 26.0;
    let (w, pad_l) = (640.0, 220.0);
    let h = row_h * rows.len().max(1) as f64 + 8.0;
    let max = rows.iter().map(|r| r.1).fold(0.0_f64, f64::max).max(1.0);
    let mut out = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = esc(title)
    );
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = 4.0 + row_h * i as f64;
        let bw = v / max * (w - pad_l - 60.0);
        let short: String = label.chars().take(30).collect();
        out.push_str(&format!(
            r#"<text x="{lx}" y="{ty:.1}" class="tick" text-anchor="end">{l}</text><rect x="{pad_l}" y="{y:.1}" width="{bw:.1}" height="{bh}" class="bar"/><text x="{vx:.1}" y="{ty:.1}" class="tick">{val}</text>"#,
            lx = pad_l - 8.0,
            ty = y + 15.0,
            l = esc(&short),
            bh = row_h - 8.0,
            vx = pad_l + bw + 6.0,
            val = esc(&format!("{}{}", fmt_num(*v), unit)),
        ));
    }
    out.push_str("</svg>");
    out
}

fn fmt_num(v: f64) -> String {
    if v.fract().abs() < f64::EPSILON {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_and_labels_escaped() {
        let svg = bars(
            "Messages <per> day",
            &["a&b".into(), "c".into()],
            &[5.0, 10.0],
            "",
        );
        assert!(svg.contains("Messages &lt;per&gt; day"));
        assert!(svg.contains("a&amp;b"));
        assert!(!svg.contains("<per>"));
        // The larger value fills the plot height (220 - 36 - 16 = 168).
        assert!(svg.contains(r#"height="168.0""#), "{svg}");
        assert!(svg.contains(r#"height="84.0""#), "{svg}");
    }

    #[test]
    fn ranking_lists_every_row() {
        let svg = ranking(
            "Top users",
            &[("x@example.com".into(), 3.0), ("y@example.com".into(), 1.0)],
            " msgs",
        );
        assert!(svg.contains("x@example.com") && svg.contains("y@example.com"));
        assert!(svg.contains("3 msgs"));
    }
}
