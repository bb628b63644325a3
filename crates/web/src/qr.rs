//! QR codes drawn on the server as inline SVG (the authenticator set-up).

use qrcode::QrCode;
use qrcode::render::svg;

use crate::error::WebError;

/// An SVG of `data`, quiet zone included, scaled by CSS.
pub fn svg(data: &str) -> Result<String, WebError> {
    let code = QrCode::new(data.as_bytes()).map_err(|e| WebError::Internal {
        context: "drawing the QR code",
        source: Box::new(e),
    })?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Inline in the page: without the XML declaration, and hidden from
    // screen readers (the figure around it is named).
    let body = image
        .split_once("?>")
        .map_or(image.as_str(), |(_, rest)| rest)
        .trim_start();
    Ok(body.replacen("<svg ", "<svg aria-hidden=\"true\" focusable=\"false\" ", 1))
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_an_inline_svg() {
        let s = super::svg("otpauth://totp/IntelliStack:a%40example.com?secret=ABC").unwrap();
        assert!(s.starts_with("<svg aria-hidden=\"true\""));
        assert!(s.contains("<path") || s.contains("<rect"));
    }
}
