//! The web UI: HTML, scripts and styles under `query-api/ui/`, embedded in
//! the binary at build time (no npm, no CDN), served at `/` without a key
//! (they hold no data; every call the UI makes goes to the API with the
//! user's key and is audited like any other).
//!
//! The UI routes in the browser (`/search`, `/alerts/{id}`, ...); each
//! such path answers `index.html`, so a link to a view opens it. Every
//! answer carries a strict Content-Security-Policy (scripts, styles and
//! connections from this origin only) and an ETag; assets are revalidated
//! (`no-cache`), so an upgraded binary is picked up at once.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "ui/"]
struct Assets;

/// The policy every UI answer carries.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The browser-side pages: each answers `index.html`.
const PAGES: [&str; 6] = ["/search", "/alerts", "/rules", "/compliance", "/health", "/login"];

/// Whether `path` is the UI's (served without a key).
pub fn is_ui_path(path: &str) -> bool {
    path == "/"
        || path.starts_with("/assets/")
        || PAGES.contains(&path)
        || path.strip_prefix("/alerts/").is_some_and(|id| !id.is_empty() && !id.contains('/') && !id.starts_with('_'))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(file) = Assets::get(path) else {
        return not_found();
    };
    let hash: String = file.metadata.sha256_hash()[..12].iter().map(|b| format!("{b:02x}")).collect();
    let etag = format!("\"{hash}\"");
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut ok = file.data.into_owned().into_response();
        ok.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
        ok
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex is a valid header"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secure(headers);
    response
}

fn secure(headers: &mut HeaderMap) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn not_found() -> Response {
    let mut response = (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"error":{"code":"not_found","message":"no such file in the web UI"}}"#,
    )
        .into_response();
    secure(response.headers_mut());
    response
}

/// `/` and every UI page: the application shell.
pub async fn index(request: HeaderMap) -> Response {
    serve("index.html", &request)
}

/// `router` with a route per UI page, each answering the shell.
pub fn pages<S: Clone + Send + Sync + 'static>(router: axum::Router<S>) -> axum::Router<S> {
    PAGES.iter().fold(router, |router, page| router.route(page, axum::routing::get(index)))
}

/// `/assets/{*path}`: scripts, styles, vendored libraries.
pub async fn asset(Path(path): Path<String>, request: HeaderMap) -> Response {
    if path.split('/').any(|part| part.is_empty() || part == ".." || part.starts_with('.')) || path == "index.html" {
        return not_found();
    }
    serve(&path, &request)
}

/// The embedded files and their sizes (for the benchmark and tests).
pub fn bundle() -> Vec<(String, usize)> {
    Assets::iter().filter_map(|name| Assets::get(&name).map(|f| (name.to_string(), f.data.len()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn body(response: Response) -> String {
        String::from_utf8(to_bytes(response.into_body(), 1 << 24).await.unwrap().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn assets_have_types_policy_and_etags() {
        let index = index(HeaderMap::new()).await;
        assert_eq!(index.status(), StatusCode::OK);
        assert_eq!(index.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(index.headers()[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
        assert_eq!(index.headers()[header::CACHE_CONTROL], "no-cache");
        let etag = index.headers()[header::ETAG].clone();
        assert!(body(index).await.contains("<script type=\"module\" src=\"/assets/app.js\""));
        for (path, kind) in [
            ("app.js", "text/javascript; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
            ("vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
            ("vendor/preact-htm.js", "text/javascript; charset=utf-8"),
        ] {
            let response = asset(Path(path.into()), HeaderMap::new()).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(response.headers()[header::CONTENT_TYPE], kind, "{path}");
            assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        }
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(index_again(again).await, StatusCode::NOT_MODIFIED);
    }

    async fn index_again(headers: HeaderMap) -> StatusCode {
        index(headers).await.status()
    }

    #[tokio::test]
    async fn unknown_and_sneaky_paths_are_404() {
        for path in ["nope.js", "../Cargo.toml", "vendor/../../Cargo.toml", ".hidden", "index.html", ""] {
            let response = asset(Path(path.into()), HeaderMap::new()).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(body(response).await.contains("not_found"));
        }
    }

    #[test]
    fn ui_paths_are_the_pages_only() {
        for path in ["/", "/search", "/alerts", "/alerts/0123abcd", "/rules", "/compliance", "/health", "/assets/app.js"] {
            assert!(is_ui_path(path), "{path}");
        }
        for path in ["/api/v1/search", "/alerts/x/_search", "/search/_search", "/alerts/_search", "/nosuch", "/metricsx"] {
            assert!(!is_ui_path(path), "{path}");
        }
    }

    #[test]
    fn the_bundle_is_small() {
        let total: usize = bundle().iter().map(|(_, size)| size).sum();
        assert!(total < 400_000, "the web UI grew to {total} bytes");
    }
}
