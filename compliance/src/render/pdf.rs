//! PDF: the printable HTML page printed by a headless Chromium, when one
//! is installed (the CLI only; the server never needs a browser).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where a browser is looked for: `LOGWARDEN_CHROMIUM`, then these.
pub const BROWSERS: &[&str] = &[
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
];

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error(
        "--format pdf needs a headless Chromium and none is installed (looked for {looked}); install it (apt-get install chromium fonts-noto-cjk) or set LOGWARDEN_CHROMIUM, or use --format html and print the page"
    )]
    NoBrowser { looked: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{browser} could not print the page to PDF ({status}): {stderr}")]
    Failed { browser: String, status: String, stderr: String },
}

/// The browser to print with.
pub fn find_browser() -> Result<PathBuf, PdfError> {
    if let Some(path) = std::env::var_os("LOGWARDEN_CHROMIUM").map(PathBuf::from) {
        return if path.is_file() {
            Ok(path)
        } else {
            Err(PdfError::NoBrowser { looked: path.display().to_string() })
        };
    }
    BROWSERS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| PdfError::NoBrowser { looked: BROWSERS.join(", ") })
}

/// Prints `html` to the PDF file `out`.
pub fn print(html: &str, out: &Path) -> Result<(), PdfError> {
    let browser = find_browser()?;
    let work = std::env::temp_dir().join(format!("logwarden-pdf-{}-{:x}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&work).map_err(|source| PdfError::Io { path: work.clone(), source })?;
    let page = work.join("page.html");
    let result = (|| {
        std::fs::write(&page, html).map_err(|source| PdfError::Io { path: page.clone(), source })?;
        let out_abs = if out.is_absolute() { out.to_path_buf() } else { std::env::current_dir().map(|d| d.join(out)).unwrap_or_else(|_| out.to_path_buf()) };
        let output = Command::new(&browser)
            .arg("--headless")
            .arg("--no-sandbox")
            .arg("--disable-gpu")
            .arg("--no-pdf-header-footer")
            .arg(format!("--user-data-dir={}", work.join("profile").display()))
            .arg(format!("--print-to-pdf={}", out_abs.display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .map_err(|source| PdfError::Io { path: browser.clone(), source })?;
        let printed = std::fs::metadata(&out_abs).map(|m| m.len() > 0).unwrap_or(false);
        if !output.status.success() || !printed {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(" | ");
            return Err(PdfError::Failed { browser: browser.display().to_string(), status: output.status.to_string(), stderr: tail });
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}
