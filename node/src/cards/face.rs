//! A member card's face, drawn once as SVG at ID-1 size (85.6 × 54 mm) and
//! turned into PNG (resvg, 300 dpi, for a phone's wallet or a card printer)
//! or PDF (krilla, one page of exactly the card's size, the text embedded
//! and selectable). The fonts are bundled (DejaVu Sans, under
//! `web/vendor/fonts`, pinned by checksum), so a card looks the same on
//! every node and nothing is looked up on the machine.

use std::sync::{Arc, OnceLock};

use qrcode::{EcLevel, QrCode};

/// A font file drawn with.
#[derive(Debug)]
pub struct BundledFont {
    /// Its path under `web/vendor`.
    pub source: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

/// The fonts a card is drawn with.
pub const FONTS: [BundledFont; 2] = [
    BundledFont {
        source: "fonts/DejaVuSans.ttf",
        bytes: include_bytes!("../../web/vendor/fonts/DejaVuSans.ttf"),
    },
    BundledFont {
        source: "fonts/DejaVuSans-Bold.ttf",
        bytes: include_bytes!("../../web/vendor/fonts/DejaVuSans-Bold.ttf"),
    },
];

/// Card width in PDF points (85.6 mm).
pub const WIDTH_PT: f32 = 242.65;
/// Card height in PDF points (54 mm).
pub const HEIGHT_PT: f32 = 153.07;
/// Width of the PNG in pixels (85.6 mm at 300 dpi).
pub const PNG_WIDTH_PX: u32 = 1011;

/// What a card shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardFace {
    /// The home club's display name.
    pub club_name: String,
    /// The member's name, from the club's own record (never in the QR code).
    pub member_name: String,
    /// The club's membership number.
    pub member_number: String,
    /// Tier when issued.
    pub tier: String,
    /// The card's valid-until, `YYYY-MM-DD`.
    pub valid_until: String,
    /// Serial of the card.
    pub serial: u32,
    /// Issue date, `YYYY-MM-DD`.
    pub issued_on: String,
    /// The signed credential the QR code carries.
    pub credential: String,
}

/// Why a card could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    /// The credential does not fit a QR code.
    #[error("the card's credential does not fit a QR code: {0}")]
    Qr(String),
    /// The SVG did not parse (a bug: it is ours).
    #[error("the card's SVG does not parse: {0}")]
    Svg(String),
    /// Rasterizing or writing the PDF failed.
    #[error("drawing the card failed: {0}")]
    Draw(String),
}

const CARD_W: u32 = 856;
const CARD_H: u32 = 540;
const QR_X: u32 = 470;
const QR_Y: u32 = 138;
const QR_SIZE: u32 = 356;

/// XML-escaped text.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to `chars_max` characters (with an ellipsis when cut).
fn fit(text: &str, chars_max: usize) -> String {
    if text.chars().count() <= chars_max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(chars_max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The font size (card units, 0.1 mm) at which `text` fits `width`, at
/// most `size_max`; DejaVu Sans averages about 0.6 em per character.
fn size_to_fit(text: &str, width: u32, size_max: u32) -> u32 {
    let chars = u32::try_from(text.chars().count().max(1)).unwrap_or(u32::MAX);
    (width * 10 / (chars * 6)).clamp(18, size_max)
}

/// The QR code of `credential` as one SVG path (dark modules), with its
/// quiet zone, placed at (`x`, `y`) and `size` units square.
fn qr_path(credential: &str, x: u32, y: u32, size: u32) -> Result<String, FaceError> {
    let code = QrCode::with_error_correction_level(credential.as_bytes(), EcLevel::M)
        .map_err(|e| FaceError::Qr(e.to_string()))?;
    let width = code.width();
    let quiet = 4;
    let modules = width + 2 * quiet;
    let module = f64::from(size) / modules as f64;
    let colors = code.to_colors();
    let mut path = String::new();
    for (index, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (row, col) = (index / width, index % width);
            let left = f64::from(x) + (col + quiet) as f64 * module;
            let top = f64::from(y) + (row + quiet) as f64 * module;
            path.push_str(&format!("M{left:.2} {top:.2}h{module:.2}v{module:.2}h-{module:.2}z"));
        }
    }
    Ok(format!(
        r##"<rect x="{x}" y="{y}" width="{size}" height="{size}" fill="#ffffff"/><path d="{path}" fill="#000000" shape-rendering="crispEdges"/>"##
    ))
}

/// The card as an SVG document (85.6 × 54 mm).
pub fn svg(face: &CardFace) -> Result<String, FaceError> {
    let club = fit(&face.club_name, 40);
    let name = fit(&face.member_name, 36);
    let number = fit(&face.member_number, 24);
    let club_size = size_to_fit(&club, 776, 46);
    let name_size = size_to_fit(&name, 400, 40);
    let qr = qr_path(&face.credential, QR_X, QR_Y, QR_SIZE)?;
    let qr_mid = QR_X + QR_SIZE / 2;
    Ok(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="85.6mm" height="54mm" viewBox="0 0 {CARD_W} {CARD_H}" font-family="DejaVu Sans">
<title>{title}</title>
<rect x="1.5" y="1.5" width="853" height="537" rx="32" fill="#ffffff" stroke="#c5ccd6" stroke-width="3"/>
<path d="M1.5 33.5a32 32 0 0 1 32-32h789a32 32 0 0 1 32 32v88h-853z" fill="#1d3557"/>
<text x="40" y="72" font-size="{club_size}" font-weight="bold" fill="#ffffff">{club_text}</text>
<text x="40" y="106" font-size="22" fill="#d3dce8">Member card · reciprocal visits</text>
<text x="40" y="176" font-size="20" fill="#5b6575">MEMBER</text>
<text x="40" y="222" font-size="{name_size}" font-weight="bold" fill="#14213d">{name_text}</text>
<text x="40" y="276" font-size="20" fill="#5b6575">NUMBER</text>
<text x="40" y="314" font-size="32" fill="#14213d">{number_text}</text>
<text x="40" y="368" font-size="20" fill="#5b6575">TIER</text>
<text x="40" y="404" font-size="30" fill="#14213d">{tier_text}</text>
<text x="230" y="368" font-size="20" fill="#5b6575">VALID UNTIL</text>
<text x="230" y="404" font-size="30" fill="#14213d">{valid_until}</text>
<text x="40" y="500" font-size="18" fill="#5b6575">Card no. {serial} · issued {issued_on}</text>
{qr}
<text x="{qr_mid}" y="518" font-size="17" fill="#5b6575" text-anchor="middle">Show this code at the door</text>
</svg>
"##,
        title = escape(&format!("{} member card: {}", face.club_name, face.member_name)),
        club_text = escape(&club),
        name_text = escape(&name),
        number_text = escape(&number),
        tier_text = escape(&face.tier),
        valid_until = escape(&face.valid_until),
        serial = face.serial,
        issued_on = escape(&face.issued_on),
    ))
}

/// The font database with the bundled fonts (made once).
fn fonts() -> Arc<resvg::usvg::fontdb::Database> {
    static FONT_DB: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    Arc::clone(FONT_DB.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        for font in &FONTS {
            db.load_font_data(font.bytes.to_vec());
        }
        db.set_sans_serif_family("DejaVu Sans");
        Arc::new(db)
    }))
}

fn tree(face: &CardFace) -> Result<resvg::usvg::Tree, FaceError> {
    let options = resvg::usvg::Options { fontdb: fonts(), ..resvg::usvg::Options::default() };
    resvg::usvg::Tree::from_str(&svg(face)?, &options).map_err(|e| FaceError::Svg(e.to_string()))
}

/// The card as a PNG, [`PNG_WIDTH_PX`] wide (300 dpi).
pub fn png(face: &CardFace) -> Result<Vec<u8>, FaceError> {
    let tree = tree(face)?;
    let scale = PNG_WIDTH_PX as f32 / tree.size().width();
    let height = (tree.size().height() * scale).round() as u32;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(PNG_WIDTH_PX, height)
        .ok_or_else(|| FaceError::Draw("empty image".to_owned()))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| FaceError::Draw(e.to_string()))
}

/// The card as a one-page PDF of the card's size.
pub fn pdf(face: &CardFace) -> Result<Vec<u8>, FaceError> {
    use krilla_svg::SurfaceExt;
    let tree = tree(face)?;
    let size = krilla::geom::Size::from_wh(WIDTH_PT, HEIGHT_PT)
        .ok_or_else(|| FaceError::Draw("card size".to_owned()))?;
    let mut document = krilla::Document::new();
    document.set_metadata(
        krilla::metadata::Metadata::new()
            .title(format!("{} member card", face.club_name))
            .creator("Reciprocity".to_owned()),
    );
    let mut page = document.start_page_with(krilla::page::PageSettings::new(size));
    let mut surface = page.surface();
    surface.draw_svg(&tree, size, krilla_svg::SvgSettings::default()).ok_or_else(|| {
        FaceError::Draw("the card's SVG could not be drawn into the PDF".to_owned())
    })?;
    surface.finish();
    page.finish();
    document.finish().map_err(|e| FaceError::Draw(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(credential: &str) -> CardFace {
        CardFace {
            club_name: "Harbour Club & Marina".to_owned(),
            member_name: "Ada <Lovelace>".to_owned(),
            member_number: "H-0001".to_owned(),
            tier: "full".to_owned(),
            valid_until: "2027-12-31".to_owned(),
            serial: 2,
            issued_on: "2026-12-07".to_owned(),
            credential: credential.to_owned(),
        }
    }

    /// The QR codes found in a PNG, decoded.
    fn qr_texts(png_bytes: &[u8]) -> Vec<String> {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().expect("png header");
        let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut pixels).expect("png frame");
        let channels = info.color_type.samples();
        let (w, h) = (info.width as usize, info.height as usize);
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
            let at = (y * w + x) * channels;
            pixels[at]
        });
        image.detect_grids().iter().filter_map(|g| g.decode().ok().map(|(_, text)| text)).collect()
    }

    #[test]
    fn the_svg_escapes_names_and_carries_no_credential_text() {
        let credential = "RC1:6BFOXN*TS0BI$ZD.P9UOL97O4-2HH77HRM3DSPTHH77HRM3DSPT";
        let svg = svg(&face(credential)).expect("svg");
        assert!(svg.contains("Ada &lt;Lovelace&gt;") && svg.contains("Harbour Club &amp; Marina"));
        assert!(!svg.contains(credential), "the QR code is drawn, not written out");
        assert!(svg.contains(r#"width="85.6mm" height="54mm""#));
    }

    #[test]
    fn the_png_is_card_sized_and_its_qr_code_decodes_to_the_credential() {
        let key = reciprocity_sdk::keys::Keypair::from_seed([5; 32]);
        let claims = reciprocity_chaincode::CardClaims {
            member_id: reciprocity_chaincode::MemberId([3; 16]),
            home_club: reciprocity_chaincode::ClubId::parse("harbour").unwrap(),
            tier: "full".to_owned(),
            valid_until_day: 21_000,
            issued_at_ms: 1_800_000_000_000,
            serial: 2,
        };
        let credential = reciprocity_sdk::card::sign(&claims, &key);
        let png_bytes = png(&face(&credential)).expect("png");
        assert_eq!(&png_bytes[1..4], b"PNG");
        assert_eq!(qr_texts(&png_bytes), vec![credential]);
    }

    #[test]
    fn the_pdf_is_one_page_of_id1_size() {
        let pdf = pdf(&face("RC1:ABC")).expect("pdf");
        let text = String::from_utf8_lossy(&pdf);
        assert!(pdf.starts_with(b"%PDF-"));
        // One page object (krilla writes `/Type/Page` without spaces), of the card's size.
        let pages = text.matches("/Type/Page").count() - text.matches("/Type/Pages").count();
        assert_eq!(pages, 1, "one page");
        assert!(text.contains("MediaBox[0 0 242.65 153.07]"), "a MediaBox of 85.6 x 54 mm");
    }
}
