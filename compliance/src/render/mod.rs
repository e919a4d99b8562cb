//! The report and the monthly review as JSON (serde), CSV (one row per
//! stream or finding) and a printable HTML page (Korean or English); PDF
//! prints that page with a headless Chromium (`pdf`, the CLI only).

mod csv;
mod html;
pub mod pdf;
mod review_csv;
mod review_html;

use crate::Report;
use crate::review::Review;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Html,
    /// The HTML page printed by a headless browser (CLI only).
    Pdf,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "html" => Some(Format::Html),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
            Format::Pdf => "application/pdf",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ko,
    En,
}

impl Lang {
    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "ko" => Some(Lang::Ko),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// The report as text; PDF is rendered as its HTML page (print it with
/// [`pdf::print`]).
pub fn render(report: &Report, format: Format, lang: Lang) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(report).expect("report serializes"),
        Format::Csv => csv::render(report),
        Format::Html | Format::Pdf => html::render(report, lang),
    }
}

/// The review as text; PDF is rendered as its HTML page.
pub fn render_review(review: &Review, format: Format, lang: Lang) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(review).expect("review serializes"),
        Format::Csv => review_csv::render(review),
        Format::Html | Format::Pdf => review_html::render(review, lang),
    }
}
