//! Static assets, embedded at build time: no CDN, no build step.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    (
        "auth.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/auth.js"),
    ),
    (
        "chat.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/chat.js"),
    ),
    (
        "markdown.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/markdown.js"),
    ),
    (
        "security.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/security.js"),
    ),
    (
        "workspace.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/workspace.js"),
    ),
    (
        "pages.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/pages.js"),
    ),
];

pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, body)) => (
            [
                (header::CONTENT_TYPE, *mime),
                // Short: assets change with the binary and carry no version.
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/favicon.ico`: a 32×32 icon (the brand's blue square with a white
/// stacked "I"), drawn here once rather than shipped as a binary file.
pub async fn favicon() -> Response {
    static ICON: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let body = ICON.get_or_init(draw_icon).clone();
    (
        [
            (header::CONTENT_TYPE, "image/x-icon"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

/// An ICO file holding one 32-bit BMP image.
fn draw_icon() -> Vec<u8> {
    const N: u32 = 32;
    let mut pixels = Vec::with_capacity((N * N * 4) as usize);
    // BMP rows run bottom to top; each pixel is B, G, R, A.
    for row in (0..N).rev() {
        for col in 0..N {
            let corner = !(3..=N - 4).contains(&col) && !(3..=N - 4).contains(&row);
            let bar = (13..19).contains(&col) && (7..25).contains(&row);
            let serif =
                (9..23).contains(&col) && ((7..10).contains(&row) || (22..25).contains(&row));
            let px: [u8; 4] = if corner {
                [0, 0, 0, 0]
            } else if bar || serif {
                [255, 255, 255, 255]
            } else {
                [0xd3, 0x5b, 0x2f, 255]
            };
            pixels.extend_from_slice(&px);
        }
    }
    // The AND mask: all zero (transparency comes from alpha), rows of 4 bytes.
    let mask = vec![0u8; (N * 4) as usize];
    let image_len = 40 + pixels.len() + mask.len();
    let mut out = Vec::with_capacity(6 + 16 + image_len);
    out.extend_from_slice(&[0, 0, 1, 0, 1, 0]); // reserved, type icon, one image
    out.extend_from_slice(&[N as u8, N as u8, 0, 0, 1, 0, 32, 0]);
    out.extend_from_slice(&(image_len as u32).to_le_bytes());
    out.extend_from_slice(&22u32.to_le_bytes()); // offset of the image
    out.extend_from_slice(&40u32.to_le_bytes()); // BITMAPINFOHEADER
    out.extend_from_slice(&(N as i32).to_le_bytes());
    out.extend_from_slice(&((N * 2) as i32).to_le_bytes()); // image and mask
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&32u16.to_le_bytes());
    out.extend_from_slice(&[0u8; 24]); // no compression, sizes and palette unused
    out.extend_from_slice(&pixels);
    out.extend_from_slice(&mask);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_icon_is_a_well_formed_ico() {
        let ico = super::draw_icon();
        assert_eq!(&ico[..4], &[0, 0, 1, 0]);
        let size = u32::from_le_bytes(ico[14..18].try_into().unwrap()) as usize;
        let offset = u32::from_le_bytes(ico[18..22].try_into().unwrap()) as usize;
        assert_eq!(offset + size, ico.len());
        assert_eq!(size, 40 + 32 * 32 * 4 + 32 * 4);
    }
}
