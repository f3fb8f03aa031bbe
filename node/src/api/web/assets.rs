//! The web app's static files, compiled into the binary: our stylesheet and
//! script, and the vendored libraries (`node/web/vendor/`, each pinned by
//! version in its file name and by SHA-256 in `SHA256SUMS`, which a test
//! checks). Each is served under a name that changes with its content, so
//! browsers may keep it for a year.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    /// The file's name in the source tree.
    source: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

static FILES: [Asset; 5] = [
    Asset {
        source: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../../web/assets/app.css"),
    },
    Asset {
        source: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../web/assets/app.js"),
    },
    Asset {
        source: "icon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../../web/assets/icon.svg"),
    },
    Asset {
        source: "htmx-2.0.11.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../web/vendor/htmx-2.0.11.min.js"),
    },
    Asset {
        source: "jsqr-1.4.0.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../web/vendor/jsqr-1.4.0.js"),
    },
];

/// The names the pages link the assets by (content-addressed).
#[derive(Debug, Clone)]
pub struct AssetNames {
    /// The stylesheet.
    pub css: String,
    /// Our script.
    pub app: String,
    /// htmx.
    pub htmx: String,
    /// The QR decoder, loaded when the camera is first used.
    pub jsqr: String,
    /// The app's icon.
    pub icon: String,
}

struct Served {
    names: AssetNames,
    by_name: Vec<(String, &'static Asset)>,
}

/// `stem-<first 12 hex digits of SHA-256>.ext`.
fn served_name(asset: &Asset) -> String {
    let digest = hex::encode(Sha256::digest(asset.bytes));
    let (stem, ext) = asset.source.rsplit_once('.').expect("asset names have an extension");
    format!("{stem}-{}.{ext}", &digest[..12])
}

fn served() -> &'static Served {
    static SERVED: OnceLock<Served> = OnceLock::new();
    SERVED.get_or_init(|| {
        let by_name: Vec<(String, &'static Asset)> =
            FILES.iter().map(|asset| (served_name(asset), asset)).collect();
        let name = |source: &str| {
            by_name
                .iter()
                .find(|(_, asset)| asset.source == source)
                .map(|(name, _)| name.clone())
                .expect("every linked asset is compiled in")
        };
        let names = AssetNames {
            css: name("app.css"),
            app: name("app.js"),
            htmx: name("htmx-2.0.11.min.js"),
            jsqr: name("jsqr-1.4.0.js"),
            icon: name("icon.svg"),
        };
        Served { names, by_name }
    })
}

/// The served names of the assets, for the templates.
pub fn names() -> &'static AssetNames {
    &served().names
}

/// `GET /assets/{name}`.
pub async fn asset(Path(name): Path<String>) -> Response {
    match served().by_name.iter().find(|(served, _)| *served == name) {
        Some((_, asset)) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            asset.bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_files_match_their_pinned_checksums() {
        let sums = include_str!("../../../web/vendor/SHA256SUMS");
        let mut checked = 0;
        for line in sums.lines().filter(|l| !l.trim().is_empty()) {
            let (sum, file) = line.split_once("  ").expect("sha256sum format");
            let bytes = FILES
                .iter()
                .find(|a| a.source == file)
                .map(|a| a.bytes)
                .or_else(|| {
                    crate::cards::face::FONTS.iter().find(|f| f.source == file).map(|f| f.bytes)
                })
                .expect("listed file is served or drawn with");
            assert_eq!(hex::encode(Sha256::digest(bytes)), sum, "{file}");
            checked += 1;
        }
        assert_eq!(checked, 4, "htmx, jsQR and the card's two fonts are pinned");
    }

    #[test]
    fn served_names_change_with_content_and_keep_the_extension() {
        let names = names();
        assert!(names.css.starts_with("app-") && names.css.ends_with(".css"));
        assert!(names.htmx.starts_with("htmx-2.0.11.min-") && names.htmx.ends_with(".js"));
        assert_eq!(names.css.len(), "app-".len() + 12 + ".css".len());
    }
}
