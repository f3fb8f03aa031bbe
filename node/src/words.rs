//! Text for people: quoting a caller's input without echoing it whole,
//! cutting long text, counts with their noun in the right number, sizes in
//! bytes as people read them. Used by the APIs, the CLI and the records.

/// Longest piece of a caller's input quoted in a message, in characters.
pub const QUOTE_CHARS_MAX: usize = 48;

/// `text` quoted for a message: whole when short, else its first
/// [`QUOTE_CHARS_MAX`] characters and its length.
pub fn quote(text: &str) -> String {
    let chars = text.chars().count();
    if chars <= QUOTE_CHARS_MAX {
        return format!("{text:?}");
    }
    let prefix: String = text.chars().take(QUOTE_CHARS_MAX).collect();
    format!("{prefix:?}… ({chars} characters)")
}

/// `text` cut to at most `chars_max` characters, marked with `…` when cut.
pub fn bounded(text: &str, chars_max: usize) -> String {
    match text.char_indices().nth(chars_max) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

/// A size in bytes as people read it: `512 bytes`, `64 KiB`, `1.5 MiB`.
pub fn bytes_in_words(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    let (unit, name) = match bytes {
        b if b >= MIB => (MIB, "MiB"),
        b if b >= KIB => (KIB, "KiB"),
        _ => return format!("{bytes} bytes"),
    };
    let tenths = bytes * 10 / unit;
    if tenths.is_multiple_of(10) {
        format!("{} {name}", tenths / 10)
    } else {
        format!("{}.{} {name}", tenths / 10, tenths % 10)
    }
}

/// `count` and the noun in the right number: `1 row`, `2 rows`.
pub fn count_of(count: usize, singular: &str, plural: &str) -> String {
    if count == 1 { format!("1 {singular}") } else { format!("{count} {plural}") }
}
