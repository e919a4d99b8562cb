//! The review as a self-contained printable page (A4, no script, no
//! external asset), in Korean or English: the summary, the integrity
//! result, the checks with their citations, every finding with its 소명
//! state, and the sign-off block.

use std::fmt::Write;

use super::Lang;
use super::html::{STYLE, esc};
use crate::review::{CheckKind, Review};

fn label(lang: Lang, key: &str) -> &'static str {
    let (en, ko) = match key {
        "title" => ("Monthly access record review", "개인정보처리시스템 접속기록 월간 점검 보고서"),
        "basis" => (
            "Personal Information Safety Standards (개인정보의 안전성 확보조치 기준) Art. 8(2): monthly review of access records; Art. 8(3): their integrity",
            "개인정보의 안전성 확보조치 기준 제8조② (접속기록 월 1회 이상 점검), 제8조③ (접속기록 위·변조 방지)",
        ),
        "month" => ("Month", "점검 대상 월"),
        "period" => ("Period", "기간"),
        "timezone" => ("Time zone", "시간대"),
        "generated" => ("Generated", "생성 시각"),
        "incomplete" => ("the month is not over: findings may still change", "해당 월이 끝나지 않아 결과가 바뀔 수 있음"),
        "plan" => ("Internal management plan", "내부 관리계획"),
        "status" => ("Review status", "점검 상태"),
        "summary" => ("Summary", "요약"),
        "findings" => ("Findings", "점검 결과"),
        "pending" => ("pending", "소명 대기"),
        "explained" => ("explained", "소명 완료"),
        "escalated" => ("escalated", "조치 필요"),
        "no_reason" => ("downloads without a reason", "사유 없는 다운로드"),
        "integrity" => ("Integrity of the access records (Art. 8(3))", "접속기록 무결성 (제8조③)"),
        "stream" => ("Stream", "스트림"),
        "manifests" => ("Manifests", "매니페스트"),
        "verified" => ("Splits verified", "검증된 스플릿"),
        "problems" => ("Problems", "문제"),
        "missing" => ("Missing ranges", "누락 구간"),
        "key" => ("Signing key", "서명 키"),
        "pinned" => ("pinned", "고정됨"),
        "not_pinned" => ("NOT pinned", "고정되지 않음"),
        "settings" => ("Checks and thresholds", "점검 항목 및 기준"),
        "check" => ("Check", "점검 항목"),
        "threshold" => ("Threshold", "기준"),
        "citation" => ("Cited from", "근거"),
        "default" => ("default (not from the plan)", "기본값 (관리계획 미지정)"),
        "off" => ("off", "사용 안 함"),
        "sources" => ("Access records reviewed", "점검한 접속기록"),
        "records" => ("Records", "기록 수"),
        "accounts" => ("Accounts", "계정 수"),
        "id" => ("Id", "번호"),
        "state" => ("State (소명)", "소명 상태"),
        "account" => ("Account", "계정"),
        "origin" => ("Source", "접속지"),
        "time" => ("Time", "일시"),
        "finding" => ("Finding", "내용"),
        "comment" => ("Reviewer's comment", "검토 의견"),
        "none" => ("none", "없음"),
        "signoff" => ("Sign-off", "점검자 확인"),
        "signed_by" => ("Signed off by", "점검자"),
        "signed_at" => ("Signed at", "확인 일시"),
        "not_signed" => ("not signed off yet", "아직 확인되지 않음"),
        "signature" => ("Signature", "서명"),
        "digest" => ("Findings digest (SHA-256)", "점검 결과 해시 (SHA-256)"),
        "changed" => (
            "the findings changed after the sign-off (records or thresholds): review again",
            "확인 이후 점검 결과가 바뀜 (기록 또는 기준 변경): 재점검 필요",
        ),
        _ => ("?", "?"),
    };
    match lang {
        Lang::En => en,
        Lang::Ko => ko,
    }
}

const EXTRA_STYLE: &str = r#"
.pending { color: #9a6400; font-weight: bold; } .explained { color: #0a6b2a; font-weight: bold; } .escalated { color: #b00020; font-weight: bold; }
.VERIFIED, .SIGNED_OFF, .READY_FOR_SIGNOFF { color: #0a6b2a; font-weight: bold; } .BROKEN { color: #b00020; font-weight: bold; }
.PENDING, .INSUFFICIENT_DATA { color: #9a6400; font-weight: bold; }
td.missing-reason { color: #b00020; font-weight: bold; }
.signature-box { margin-top: 2em; border: 1px solid #333; padding: 0 1em 1em; } .signature-box h2 { margin-top: .5em; }
tr.sign td { height: 4em; min-width: 20em; }
table.findings td { font-size: 9.5pt; } table.findings td:nth-child(2), table.findings td:nth-child(3), table.findings td:nth-child(4) { white-space: nowrap; }
@media print { section.check { page-break-inside: auto; } tr { page-break-inside: avoid; } .signature-box { page-break-inside: avoid; } }
"#;

pub fn render(review: &Review, lang: Lang) -> String {
    let l = |k| label(lang, k);
    let ko = lang == Lang::Ko;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{} {}</title><style>{STYLE}{EXTRA_STYLE}</style></head><body>\n<h1>{}</h1>\n<p>{}</p>\n<table>",
        if ko { "ko" } else { "en" },
        l("title"),
        esc(&review.month),
        l("title"),
        l("basis")
    );
    let row = |out: &mut String, k: &str, v: String| {
        let _ = write!(out, "<tr><th>{}</th><td>{v}</td></tr>", label(lang, k));
    };
    row(&mut out, "month", esc(&review.month));
    let mut period = format!("{} — {} ({} — {})", esc(&review.from_local), esc(&review.to_local), esc(&review.from), esc(&review.to));
    if !review.month_complete {
        let _ = write!(period, " <strong>({})</strong>", l("incomplete"));
    }
    row(&mut out, "period", period);
    row(&mut out, "timezone", esc(&review.timezone));
    row(&mut out, "generated", esc(&review.generated_at));
    row(&mut out, "plan", review.plan.as_deref().map(esc).unwrap_or_else(|| "-".into()));
    row(&mut out, "status", format!("<span class=\"{0}\">{0}</span>", review.status));
    let s = &review.summary;
    row(
        &mut out,
        "summary",
        format!(
            "{} {}: {} {}, {} {}, {} {}; {} {}",
            s.findings,
            l("findings"),
            s.pending,
            l("pending"),
            s.explained,
            l("explained"),
            s.escalated,
            l("escalated"),
            s.downloads_without_reason,
            l("no_reason")
        ),
    );
    out.push_str("</table>\n");

    // Integrity (제8조③).
    let i = &review.integrity;
    let _ = write!(
        out,
        "<h2>{}</h2><p><span class=\"{1}\">{1}</span> {2}</p><p>{3}: <code>{4}</code> ({5})</p><table><tr><th>{6}</th><th>{7}</th><th>{8}</th><th>{9}</th><th>{10}</th></tr>",
        l("integrity"),
        i.status,
        esc(if ko { &i.ko } else { &i.en }),
        l("key"),
        esc(&i.key_id),
        if i.key_pinned { l("pinned") } else { l("not_pinned") },
        l("stream"),
        l("manifests"),
        l("verified"),
        l("problems"),
        l("missing"),
    );
    for st in &i.streams {
        let problems: Vec<String> = st.problems.iter().map(|p| format!("p{}/{}: {}", p.partition, esc(&p.split), esc(&p.what))).collect();
        let missing: Vec<String> = st.missing.iter().map(|m| format!("p{} {} — {}", m.partition, esc(&m.from), esc(&m.to))).collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td><td>{}</td></tr>",
            esc(&st.stream),
            st.manifests,
            st.verified_splits,
            st.sealed_splits,
            if problems.is_empty() { "0".into() } else { problems.join("<br>") },
            if missing.is_empty() { "0".into() } else { missing.join("<br>") }
        );
    }
    out.push_str("</table>\n");

    // The checks and their citations.
    let _ = write!(
        out,
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        l("settings"),
        l("check"),
        l("threshold"),
        l("citation"),
        l("findings")
    );
    for setting in &review.settings {
        let count = review.summary.by_check.get(setting.check.as_str()).copied().unwrap_or(0);
        let citation = match &setting.citation {
            Some(c) => esc(c),
            None => l("default").to_string(),
        };
        let threshold = if setting.enabled { esc(if ko { &setting.threshold_ko } else { &setting.threshold_en }) } else { l("off").to_string() };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{threshold}</td><td>{citation}</td><td>{count}</td></tr>",
            if ko { setting.name_ko } else { setting.name_en }
        );
    }
    out.push_str("</table>\n");

    let _ = write!(out, "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>", l("sources"), l("stream"), l("records"), l("accounts"));
    for src in &review.sources {
        let _ = write!(out, "<tr><td>{} ({})</td><td>{}</td><td>{}</td></tr>", esc(&src.stream), src.kind, src.records, src.accounts);
    }
    out.push_str("</table>\n");

    // Findings, by check.
    let _ = write!(out, "<h2>{}</h2>", l("findings"));
    for check in CheckKind::ALL {
        let findings: Vec<_> = review.findings.iter().filter(|f| f.check == check).collect();
        let (en, ko_name) = check.names();
        let _ = write!(out, "<section class=\"check\"><h3>{} ({})</h3>", if ko { ko_name } else { en }, findings.len());
        if findings.is_empty() {
            let _ = write!(out, "<p>{}</p></section>", l("none"));
            continue;
        }
        let _ = write!(
            out,
            "<table class=\"findings\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            l("id"),
            l("state"),
            l("account"),
            l("origin"),
            l("time"),
            l("finding"),
            l("comment")
        );
        for f in findings {
            let comment = f
                .history
                .last()
                .map(|c| format!("{} ({}, {})", esc(&c.comment), esc(&c.by), c.at.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_default();
            let class = if f.reason_missing { " class=\"missing-reason\"" } else { "" };
            let state = if ko { f.state.ko() } else { f.state.as_str() };
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td class=\"{}\">{state}</td><td>{}</td><td>{}</td><td>{}</td><td{class}>{}</td><td>{comment}</td></tr>",
                esc(&f.id),
                f.state.as_str(),
                esc(f.account.as_deref().unwrap_or("-")),
                esc(f.origin.as_deref().unwrap_or("-")),
                esc(&f.local_time),
                esc(if ko { &f.ko } else { &f.en }),
            );
        }
        out.push_str("</table></section>\n");
    }

    // Sign-off.
    let _ = write!(out, "<div class=\"signature-box\"><h2>{}</h2><table>", l("signoff"));
    match &review.signoff {
        Some(sign) => {
            row(&mut out, "signed_by", esc(&sign.by));
            row(&mut out, "signed_at", esc(&logwarden_store::facts::rfc3339(sign.at)));
            row(&mut out, "comment", esc(&sign.comment));
            let mut digest = format!("<code>{}</code>", esc(&sign.findings_sha256));
            if review.signoff_matches == Some(false) {
                let _ = write!(digest, "<br><strong class=\"BROKEN\">{}</strong>", l("changed"));
            }
            row(&mut out, "digest", digest);
        }
        None => {
            row(&mut out, "signed_by", l("not_signed").to_string());
            row(&mut out, "digest", format!("<code>{}</code>", esc(&review.findings_sha256)));
        }
    }
    let _ = write!(out, "<tr class=\"sign\"><th>{}</th><td></td></tr>", l("signature"));
    out.push_str("</table></div>\n</body></html>\n");
    out
}
