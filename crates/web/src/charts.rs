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

/// Width of the charts' drawing, in its own units. Charts scale to their
/// box; a narrow drawing keeps the 18-unit ticks legible (about 13 px) on a
/// 390 px phone.
const WIDTH: f64 = 480.0;
/// About how wide one character of a tick is, for fitting labels.
const CHAR_W: f64 = 9.5;

/// `text`, shortened with an ellipsis to `max` characters.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// A vertical bar chart of `values` over `labels`.
pub fn bars(title: &str, labels: &[String], values: &[f64], unit: &str) -> String {
    let max = values.iter().cloned().fold(0.0_f64, f64::max).max(1.0);
    let top = format!("{}{}", fmt_num(max), unit);
    // Room on the left for the largest value, written out.
    let pad_l = (top.chars().count() as f64 * CHAR_W + 10.0).max(30.0);
    let (w, h, pad_b, pad_t) = (WIDTH, 230.0, 40.0, 18.0);
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
        ty = pad_t + 6.0,
        m = esc(&top),
    ));
    // Label every bar when the labels fit under it, else every few.
    let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1) as f64;
    let every = ((widest * CHAR_W + 12.0) / slot).ceil().max(1.0) as usize;
    let fit = ((slot * every as f64 - 8.0) / CHAR_W).max(3.0) as usize;
    for (i, (label, v)) in labels.iter().zip(values).enumerate() {
        let bh = v / max * plot_h;
        let x = pad_l + slot * i as f64 + (slot - bar) / 2.0;
        let y = h - pad_b - bh;
        out.push_str(&format!(
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{bh:.1}" class="bar"><title>{l}: {val}</title></rect>"#,
            l = esc(label),
            val = esc(&format!("{}{}", fmt_num(*v), unit)),
        ));
        if i % every == 0 {
            out.push_str(&format!(
                r#"<text x="{cx:.1}" y="{ly}" class="tick" text-anchor="middle">{l}</text>"#,
                cx = x + bar / 2.0,
                ly = h - pad_b + 22.0,
                l = esc(&shorten(label, fit)),
            ));
        }
    }
    out.push_str("</svg>");
    out
}

/// A horizontal bar chart, for rankings such as the top users.
pub fn ranking(title: &str, rows: &[(String, f64)], unit: &str) -> String {
    let row_h = 28.0;
    const MAX_LABEL: usize = 22;
    let w = WIDTH;
    let widest = rows
        .iter()
        .map(|r| r.0.chars().count().min(MAX_LABEL))
        .max()
        .unwrap_or(1) as f64;
    // The labels' column fits the longest (shortened) label.
    let pad_l = widest * CHAR_W + 12.0;
    let h = row_h * rows.len().max(1) as f64 + 8.0;
    let max = rows.iter().map(|r| r.1).fold(0.0_f64, f64::max).max(1.0);
    let mut out = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = esc(title)
    );
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = 4.0 + row_h * i as f64;
        let bw = v / max * (w - pad_l - 60.0);
        let short = shorten(label, MAX_LABEL);
        out.push_str(&format!(
            r#"<g><title>{full}</title><text x="{lx}" y="{ty:.1}" class="tick" text-anchor="end">{l}</text><rect x="{pad_l}" y="{y:.1}" width="{bw:.1}" height="{bh}" class="bar"/><text x="{vx:.1}" y="{ty:.1}" class="tick">{val}</text></g>"#,
            full = esc(&format!("{label}: {}{unit}", fmt_num(*v))),
            lx = pad_l - 8.0,
            ty = y + 17.0,
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
        // The larger value fills the plot height (230 - 40 - 18 = 172).
        assert!(svg.contains(r#"height="172.0""#), "{svg}");
        assert!(svg.contains(r#"height="86.0""#), "{svg}");
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

    #[test]
    fn long_labels_are_shortened_to_fit_and_kept_whole_in_the_title() {
        let long = "a.very.long.name.indeed@example.com".to_string();
        let svg = ranking("Top users", &[(long.clone(), 3.0)], "");
        assert!(svg.contains("a.very.long.name.inde…"), "{svg}");
        assert!(svg.contains(&format!("<title>{long}: 3</title>")), "{svg}");
        // The label column is as wide as the shortened label needs.
        assert!(svg.contains(r#"<rect x="221""#), "{svg}");
    }

    #[test]
    fn day_labels_are_spaced_so_they_do_not_collide() {
        let labels: Vec<String> = (1..=14).map(|d| format!("Dec {d:02}")).collect();
        let svg = bars("Per day", &labels, &[1.0; 14], " ms");
        let shown = labels
            .iter()
            .filter(|l| svg.contains(&format!(">{l}<")))
            .count();
        assert!((3..=7).contains(&shown), "{shown} labels: {svg}");
    }
}
