//! A self-contained printable page: no script, no external asset, print
//! CSS (A4, page breaks between streams), labels in Korean or English.

use std::fmt::Write;

use super::Lang;
use crate::Report;
use crate::report::StreamReport;

pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// (English, Korean) labels.
fn label(lang: Lang, key: &str) -> &'static str {
    let (en, ko) = match key {
        "title" => ("Log retention compliance report", "로그 보존 준수 보고서"),
        "at" => ("As of", "기준 시각"),
        "from" => ("Period from", "기간 시작"),
        "generated" => ("Generated", "생성 시각"),
        "data_dir" => ("Data directory", "데이터 디렉터리"),
        "policy" => ("Policy source", "정책 출처"),
        "overall" => ("Overall status", "전체 상태"),
        "key" => ("Signing key", "서명 키"),
        "pinned" => ("pinned", "고정됨"),
        "not_pinned" => ("NOT pinned", "고정되지 않음"),
        "last_verify" => ("Last full verify", "마지막 전체 검증"),
        "never" => ("never", "없음"),
        "stream" => ("Stream", "스트림"),
        "status" => ("Status", "상태"),
        "reasons" => ("Reasons", "사유"),
        "presets" => ("Regulations cited", "인용 규정"),
        "retention" => ("Retention", "보존 기간"),
        "required" => ("required", "요구"),
        "configured" => ("configured", "설정"),
        "margin" => ("margin", "여유"),
        "binding" => ("binding law", "적용 법령"),
        "hot" => ("Immediately searchable", "즉시 조회 기간"),
        "hold" => ("Legal hold", "법적 보존 조치"),
        "range" => ("Retained events", "보존 중인 이벤트"),
        "windows" => ("Windows (expected / present)", "구간 (예상 / 존재)"),
        "missing" => ("Missing", "누락"),
        "chain" => ("Chain (verify)", "체인 (검증)"),
        "manifests" => ("manifests", "매니페스트"),
        "verified" => ("sealed splits verified", "검증된 봉인 스플릿"),
        "deleted" => ("deleted by retention", "보존 정책으로 삭제"),
        "problems" => ("problems", "문제"),
        "deletions" => ("Deletions in the period", "기간 내 삭제"),
        "unsealed" => ("Unsealed past grace", "유예 기간 초과 미봉인"),
        "volume" => ("Daily volume", "일별 로그량"),
        "day" => ("Day", "날짜"),
        "events" => ("Events", "이벤트"),
        "bytes" => ("Bytes", "바이트"),
        "low" => ("far under usual", "평소 대비 급감"),
        "none" => ("none", "없음"),
        "yes" => ("yes", "예"),
        "no" => ("no", "아니오"),
        "signature" => ("signature", "서명"),
        "valid" => ("valid", "유효"),
        "invalid" => ("INVALID", "무효"),
        _ => ("?", "?"),
    };
    match lang {
        Lang::En => en,
        Lang::Ko => ko,
    }
}

pub(super) const STYLE: &str = r#"
body { font-family: "Noto Sans KR", "Malgun Gothic", "Apple SD Gothic Neo", sans-serif; font-size: 11pt; margin: 2em; color: #111; }
h1 { font-size: 18pt; } h2 { font-size: 14pt; border-bottom: 1px solid #999; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0; } th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; }
.COMPLIANT { color: #0a6b2a; font-weight: bold; } .AT_RISK { color: #9a6400; font-weight: bold; }
.NON_COMPLIANT { color: #b00020; font-weight: bold; } .INSUFFICIENT_DATA { color: #555; font-weight: bold; }
tr.low td { background: #fde8e8; } code { font-size: 9pt; word-break: break-all; }
@media print {
  @page { size: A4; margin: 15mm; }
  body { margin: 0; font-size: 9.5pt; }
  section.stream { page-break-before: always; }
  a { color: inherit; text-decoration: none; }
}
"#;

pub fn render(report: &Report, lang: Lang) -> String {
    let l = |k| label(lang, k);
    let mut out = String::new();
    let html_lang = if lang == Lang::Ko { "ko" } else { "en" };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{html_lang}\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n<table>",
        l("title"),
        l("title")
    );
    let row = |out: &mut String, k: &str, v: String| {
        let _ = write!(out, "<tr><th>{}</th><td>{v}</td></tr>", label(lang, k));
    };
    row(
        &mut out,
        "overall",
        format!("<span class=\"{0}\">{0}</span>", report.status),
    );
    row(&mut out, "at", esc(&report.at));
    if let Some(from) = &report.from {
        row(&mut out, "from", esc(from));
    }
    row(&mut out, "generated", esc(&report.generated_at));
    row(
        &mut out,
        "data_dir",
        format!("<code>{}</code>", esc(&report.data_dir)),
    );
    row(&mut out, "policy", esc(report.policy_source));
    let pinned = if report.key.pinned {
        l("pinned")
    } else {
        l("not_pinned")
    };
    row(
        &mut out,
        "key",
        format!(
            "<code>{}</code> ({pinned}, {})",
            esc(&report.key.key_id),
            esc(report.key.source)
        ),
    );
    let last = match &report.last_verify {
        Some(v) => format!("{} ({} {})", esc(&v.verified_at), v.problems, l("problems")),
        None => l("never").to_string(),
    };
    row(&mut out, "last_verify", last);
    out.push_str("</table>\n<table><tr>");
    let _ = write!(
        out,
        "<th>{}</th><th>{}</th><th>{}</th></tr>",
        l("stream"),
        l("status"),
        l("reasons")
    );
    for s in &report.streams {
        let codes: Vec<&str> = s.reasons.iter().map(|r| r.code.as_str()).collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"{1}\">{1}</td><td><code>{2}</code></td></tr>",
            esc(&s.stream),
            s.status,
            esc(&codes.join(", "))
        );
    }
    out.push_str("</table>\n");
    for s in &report.streams {
        stream_section(&mut out, s, lang);
    }
    out.push_str("</body></html>\n");
    out
}

fn stream_section(out: &mut String, s: &StreamReport, lang: Lang) {
    let l = |k| label(lang, k);
    let opt = |v: &Option<String>| v.as_deref().map(esc).unwrap_or_else(|| "-".into());
    let _ = write!(
        out,
        "<section class=\"stream\"><h2>{}: {} <span class=\"{2}\">{2}</span></h2>",
        l("stream"),
        esc(&s.stream),
        s.status
    );
    if !s.reasons.is_empty() {
        out.push_str("<ul>");
        for r in &s.reasons {
            let sentence = if lang == Lang::Ko { &r.ko } else { &r.en };
            let _ = write!(
                out,
                "<li><code>{}</code> {}</li>",
                r.code.as_str(),
                esc(sentence)
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("<table>");
    let row = |out: &mut String, k: &str, v: String| {
        let _ = write!(out, "<tr><th>{}</th><td>{v}</td></tr>", label(lang, k));
    };
    let presets: Vec<String> = s
        .presets
        .iter()
        .map(|p| format!("<code>{}</code>: {}", esc(p.name), esc(p.citation)))
        .collect();
    row(
        out,
        "presets",
        if presets.is_empty() {
            l("none").into()
        } else {
            presets.join("<br>")
        },
    );
    let r = &s.retention;
    row(
        out,
        "retention",
        format!(
            "{} {} / {} {} / {} {} / {}: {}",
            l("required"),
            opt(&r.required),
            l("configured"),
            opt(&r.configured),
            l("margin"),
            opt(&r.margin),
            l("binding"),
            opt(&r.binding_law)
        ),
    );
    row(
        out,
        "hot",
        format!(
            "{} {} / {} {} / {}: {}",
            l("required"),
            opt(&r.hot_required),
            l("configured"),
            opt(&r.hot_configured),
            l("binding"),
            opt(&r.hot_binding_law)
        ),
    );
    let hold = if s.legal_hold {
        format!("{} {}", l("yes"), opt(&s.legal_hold_reason))
    } else {
        l("no").into()
    };
    row(out, "hold", hold);
    row(
        out,
        "range",
        format!("{} — {}", opt(&s.oldest_event), opt(&s.newest_event)),
    );
    let missing: Vec<String> = s
        .windows
        .missing
        .iter()
        .map(|m| {
            format!(
                "p{} {} — {} ({})",
                m.partition,
                esc(&m.from),
                esc(&m.to),
                m.windows
            )
        })
        .collect();
    row(
        out,
        "windows",
        format!(
            "{} / {}{}",
            s.windows.expected,
            s.windows.present,
            if missing.is_empty() {
                String::new()
            } else {
                format!("<br>{}: {}", l("missing"), missing.join("<br>"))
            }
        ),
    );
    let c = &s.chain;
    let mut chain = format!(
        "{} {}, {} {}/{}, {} {}, {} {}",
        c.manifests,
        l("manifests"),
        l("verified"),
        c.verified_splits,
        c.sealed_splits,
        c.deleted_splits,
        l("deleted"),
        c.problems.len(),
        l("problems")
    );
    for p in &c.problems {
        let _ = write!(
            chain,
            "<br><code>p{}/{}</code> {}",
            p.partition,
            esc(&p.split),
            esc(&p.what)
        );
    }
    row(out, "chain", chain);
    row(out, "key", esc(&s.signing_keys.join(", ")));
    let unsealed = if s.unsealed_past_grace.is_empty() {
        l("none").into()
    } else {
        esc(&s.unsealed_past_grace.join(", "))
    };
    row(out, "unsealed", unsealed);
    out.push_str("</table>");
    let _ = write!(out, "<h3>{}</h3>", l("deletions"));
    if s.deletions.is_empty() {
        let _ = write!(out, "<p>{}</p>", l("none"));
    } else {
        out.push_str("<table>");
        for d in &s.deletions {
            let sig = if d.signature_valid {
                l("valid")
            } else {
                l("invalid")
            };
            let _ = write!(
                out,
                "<tr><td><code>p{}/{}</code></td><td>{}</td><td>{}</td><td>{} {sig}: <code>{}</code></td></tr>",
                d.partition,
                esc(&d.split),
                esc(&d.deleted_at),
                esc(&d.record.body.reason),
                l("signature"),
                esc(&d.record.signature)
            );
        }
        out.push_str("</table>");
    }
    let _ = write!(
        out,
        "<h3>{}</h3><table><tr><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
        l("volume"),
        l("day"),
        l("events"),
        l("bytes")
    );
    for d in &s.volume {
        let flag = if d.low { l("low") } else { "" };
        let class = if d.low { " class=\"low\"" } else { "" };
        let _ = write!(
            out,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{flag}</td></tr>",
            d.day, d.events, d.bytes
        );
    }
    out.push_str("</table></section>\n");
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_is_escaped() {
        assert_eq!(super::esc("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
    }
}
