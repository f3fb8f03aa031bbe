//! The web app's cookies: the session cookie (`recip_session`) and the
//! sign-in form's CSRF cookie (`recip_login`), both `HttpOnly`,
//! `SameSite=Strict`, `Path=/`, and `Secure` when `web.secure_cookie` says
//! the app is served over TLS. The sessions themselves are
//! [`crate::api::rest::web_sessions`].

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "recip_session";

/// The sign-in form's own CSRF cookie (before there is a session).
pub const LOGIN_COOKIE: &str = "recip_login";

/// The `Set-Cookie` value that stores `value` under `name` for the app.
pub fn cookie(name: &str, value: &str, secure: bool, max_age_s: Option<u64>) -> String {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age_s {
        text.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        text.push_str("; Secure");
    }
    text
}

/// The `Set-Cookie` value that removes cookie `name`.
pub fn removed_cookie(name: &str, secure: bool) -> String {
    cookie(name, "", secure, Some(0))
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_http_only_strict_and_secure_when_asked() {
        assert_eq!(
            cookie(SESSION_COOKIE, "x", false, None),
            "recip_session=x; Path=/; HttpOnly; SameSite=Strict"
        );
        assert!(cookie(SESSION_COOKIE, "x", true, Some(5)).ends_with("; Max-Age=5; Secure"));
        let mut headers = axum::http::HeaderMap::new();
        headers.append(axum::http::header::COOKIE, "a=1; recip_session=abc".parse().expect("h"));
        assert_eq!(cookie_value(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie_value(&headers, "recip"), None);
    }
}
