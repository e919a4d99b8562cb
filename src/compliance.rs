//! `logwarden verify`, `logwarden retention` and `logwarden compliance`:
//! integrity proofs, retention enforcement and the compliance report over
//! a data directory.

use std::io::Write;

use anyhow::Context;
use chrono::Utc;
use logwarden_store::keys::{ManifestSigner, ManifestVerifier, public_key_path};
use logwarden_indexer::retention;
use logwarden_store::verify;

use logwarden_compliance::records::{LastVerify, pin_key};
use logwarden_compliance::render::{Format, Lang, render};
use logwarden_compliance::{Policies, ReportOptions};

use crate::cli::{ComplianceCommand, ComplianceReportArgs, ComplianceReviewArgs, DocumentArgs, ExportArgs, PinKeyArgs, PipelineArgs, RetentionArgs, VerifyArgs};

pub fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    if let Some(bundle) = &args.bundle {
        return verify_bundle(bundle, args.public_key.as_deref(), args.json);
    }
    let data_dir = args.data_dir.clone().context("give a BUNDLE or --data-dir DIR")?;
    let key = args.public_key.unwrap_or_else(|| {
        public_key_path(&data_dir.join("keys").join("manifest-signing.pem"))
    });
    let verifier = ManifestVerifier::load(&key)
        .with_context(|| format!("loading public key {}", key.display()))?;
    let interactive = !args.json;
    let report = verify::verify(&data_dir, &verifier, |done, total| {
        if interactive && (done % 100 == 0 || done == total) {
            eprint!("\rverify: {done}/{total} splits");
            let _ = std::io::stderr().flush();
            if done == total {
                eprintln!();
            }
        }
    })?;
    // The record reports read to tell how long ago the store was checked.
    if let Err(e) = LastVerify::of(&report, Utc::now()).write(&data_dir) {
        tracing::warn!(error = %e, "cannot record this verify in DATA_DIR/verify/last.json");
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("key {} ({})", report.key_id, key.display());
        for chain in &report.chains {
            println!(
                "{}/p{}: {} manifests{}, {} splits verified ({} events), {} deleted by retention, {} empty windows, {} active; head seq {} sealed {}",
                chain.stream,
                chain.partition,
                chain.manifests,
                if chain.format1_manifests > 0 { format!(" ({} of format 1, without a Merkle root: verified whole)", chain.format1_manifests) } else { String::new() },
                chain.verified_splits,
                chain.verified_events,
                chain.deleted_splits,
                chain.empty_windows,
                chain.active_splits,
                chain.head_seq.map_or("-".into(), |s| s.to_string()),
                chain.head_sealed_at.as_deref().unwrap_or("-"),
            );
        }
        for problem in &report.problems {
            println!(
                "BROKEN {}/p{}/{} (seq {}): {}",
                problem.stream,
                problem.partition,
                problem.split,
                problem.seq.map_or("-".into(), |s| s.to_string()),
                problem.what
            );
        }
    }
    if let Some(first) = report.problems.first() {
        anyhow::bail!(
            "verification failed: {} problem(s); first broken link: {}/p{}/{}: {}",
            report.problems.len(),
            first.stream,
            first.partition,
            first.split,
            first.what
        );
    }
    if !args.json {
        println!("OK: every chain, signature and sealed split verified");
    }
    Ok(())
}

/// `logwarden verify BUNDLE`: exit 0 only for an intact bundle.
fn verify_bundle(bundle: &std::path::Path, pinned: Option<&std::path::Path>, json: bool) -> anyhow::Result<()> {
    anyhow::ensure!(bundle.is_dir(), "{} is not a bundle directory (extract a .tar from the API first)", bundle.display());
    let report = logwarden_compliance::export::check(bundle, pinned);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        if let Some(p) = &report.predicate {
            println!("bundle {}: stream {} from {} to {}, {} records{}", bundle.display(), p.stream, p.from, p.to, p.records, if p.empty { " (empty)" } else { "" });
            if let Some(query) = &p.query {
                println!("filtered by query `{query}`: each record is proven by its Merkle inclusion proof against its split's signed manifest");
            }
            if let Some(policy) = &p.policy {
                let laws: Vec<String> = policy.presets.iter().map(|p| format!("{} ({})", p.name, p.citation)).collect();
                println!("policy: retention {}; {}", policy.retention.as_deref().unwrap_or("forever"), if laws.is_empty() { "no law cited".to_string() } else { laws.join("; ") });
                if policy.legal_hold {
                    println!("legal hold since {}: {}", policy.legal_hold_since.as_deref().unwrap_or("(no start date configured)"), policy.legal_hold_reason.as_deref().unwrap_or("-"));
                }
            }
        }
        println!(
            "key {}{}; {} files hashed, {} manifests, {} splits verified ({} records), {} records proven by inclusion proof, {} empty windows, {} deleted by retention",
            report.key_id.as_deref().unwrap_or("-"),
            if pinned.is_some() { " (pinned)" } else { " (the bundle's own key: compare it with your pinned copy)" },
            report.files,
            report.manifests_verified,
            report.splits_verified,
            report.records_verified,
            report.records_proven,
            report.empty_windows,
            report.deleted_splits,
        );
        for split in &report.inclusion {
            let shown: Vec<String> = split.proven.iter().take(20).map(|o| o.to_string()).collect();
            let more = if split.proven.len() > 20 { format!(", … ({} more)", split.proven.len() - 20) } else { String::new() };
            println!(
                "{}: {} of {} records proven against manifest seq {} (Merkle root {}){}{}{}",
                split.records,
                split.proven.len(),
                split.tree_size,
                split.seq,
                &split.merkle_root[..split.merkle_root.len().min(16)],
                if shown.is_empty() { String::new() } else { format!("; offsets {}", shown.join(", ")) },
                more,
                if split.failed.is_empty() { String::new() } else { format!("; FAILED offsets {:?}", split.failed) },
            );
        }
        if report.format1_manifests > 0 {
            println!(
                "{} manifest(s) of format 1 (written before Merkle roots): verified, their splits checked whole; a single record of them cannot be proven alone",
                report.format1_manifests
            );
        }
        for problem in &report.problems {
            println!("BROKEN {}: {}", problem.item, problem.what);
        }
    }
    if let Some(first) = report.problems.first() {
        anyhow::bail!("bundle verification failed: {} problem(s); first broken item: {}: {}", report.problems.len(), first.item, first.what);
    }
    if !json {
        println!("OK: signature, every file hash, the chain and every record verified{}", if report.records_proven > 0 { " (by inclusion proof)" } else { "" });
    }
    Ok(())
}

/// `logwarden export`: writes a signed audit bundle and records the
/// export in the `audit` stream (who: the OS user; what, when, the query,
/// the range and the bundle's digest), as the API does for its exports.
/// A bundle whose export cannot be recorded is removed.
pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    let pipeline = PipelineArgs { config: args.config.clone(), data_dir: args.data_dir.clone(), ..PipelineArgs::default() };
    let config = pipeline.load()?;
    let (data_dir, policies, signing_key, max_bytes) = match &args.config {
        Some(_) => (config.data_dir.clone(), Some(Policies::of(&config)), config.indexer.signing_key.clone(), config.compliance.max_export_bytes),
        None => {
            let dir = args.data_dir.clone().context("--config or --data-dir is required")?;
            let key = dir.join("keys").join("manifest-signing.pem");
            (dir, None, key, logwarden_config::DEFAULT_MAX_EXPORT_BYTES)
        }
    };
    let query = match &args.query {
        Some(text) => {
            let compiler = logwarden_query_api::search::QueryCompiler::new(&logwarden_store::schema::LogSchema::with_free_fields(
                logwarden_store::schema::FreeFields::new(&config.index.free_fields),
            ));
            let query = compiler.compile(text).map_err(|e| anyhow::anyhow!("--query: {e}"))?;
            Some(logwarden_compliance::export::ExportQuery { text: text.clone(), query })
        }
        None => None,
    };
    let user = os_user();
    let request = logwarden_compliance::export::ExportRequest {
        data_dir: data_dir.clone(),
        stream: args.stream.clone(),
        from: parse_time("--from", &args.from)?,
        to: parse_time("--to", &args.to)?,
        max_bytes,
        signing_key,
        policies,
        requested_by: format!("cli:{}", user.name),
        query,
        out: args.out.clone(),
    };
    let summary = logwarden_compliance::export::export(&request)
        .with_context(|| format!("exporting stream {} to {}", args.stream, args.out.display()))?;
    if let Err(e) = record_export(&config, &data_dir, &args, &user, &summary) {
        let _ = std::fs::remove_dir_all(&summary.out);
        return Err(e.context("the export could not be recorded in the audit stream; the bundle was removed"));
    }
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

/// Who runs the command: the login name and the uid.
struct OsUser {
    name: String,
    uid: Option<u32>,
}

fn os_user() -> OsUser {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok().map(|m| m.uid());
    // The account of the uid first (the environment can say anything).
    let from_passwd = uid.and_then(|uid| {
        let text = std::fs::read_to_string("/etc/passwd").ok()?;
        text.lines().find_map(|line| {
            let mut parts = line.split(':');
            let name = parts.next()?;
            (parts.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
        })
    });
    let name = from_passwd
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| uid.map_or("unknown".into(), |u| format!("uid{u}")));
    OsUser { name, uid }
}

/// The audit record of a CLI export, delivered to Kafka (or to
/// `DATA_DIR/spool-audit-cli` while Kafka is away, drained by the next
/// `logwarden export`).
fn record_export(
    config: &logwarden_config::Config,
    data_dir: &std::path::Path,
    args: &ExportArgs,
    user: &OsUser,
    summary: &logwarden_compliance::export::ExportSummary,
) -> anyhow::Result<()> {
    let filter = args.query.as_deref().map(|q| format!(" matching `{q}`")).unwrap_or_default();
    let mut fields = vec![
        ("export.stream", args.stream.clone()),
        ("export.from", args.from.clone()),
        ("export.to", args.to.clone()),
        ("export.records", summary.records.to_string()),
        ("export.bytes", summary.bytes.to_string()),
        ("export.bundle.sha256", summary.bundle_sha256.clone()),
        ("export.key.id", summary.key_id.clone()),
        ("export.out", summary.out.display().to_string()),
        ("process.pid", std::process::id().to_string()),
    ];
    if let Some(query) = &args.query {
        fields.push(("export.query", query.clone()));
    }
    if let Some(reason) = args.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        fields.push(("export.reason", reason.to_string()));
    }
    let message = format!(
        "cli:{} exported stream {} from {} to {}{filter}: {} records, bundle {}",
        user.name, args.stream, args.from, args.to, summary.records, summary.bundle_sha256
    );
    deliver_cli_record(config, data_dir, user, "audit-export", message, fields, ("this export", "the next `logwarden export`"))
}

/// Sends one record of `user`'s command (`cli:NAME`, its uid as `user.id`)
/// through the audit spool of the command line, giving what waits in the
/// spool a few seconds to reach Kafka; when it cannot, warns that the
/// record of `what` waits in the spool until `until` delivers it.
fn deliver_cli_record(
    config: &logwarden_config::Config,
    data_dir: &std::path::Path,
    user: &OsUser,
    action: &'static str,
    message: String,
    mut fields: Vec<(&'static str, String)>,
    (what, until): (&str, &str),
) -> anyhow::Result<()> {
    use logwarden_query_api::audit::{Auditor, LocalChange};
    if let Some(uid) = user.uid {
        fields.push(("user.id", uid.to_string()));
    }
    let change = LocalChange { user: format!("cli:{}", user.name), action, message, fields };
    let spool = data_dir.join("spool-audit-cli");
    let auditor = Auditor::open_local(config, spool.clone()).context("opening the audit delivery")?;
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        handle.block_on(async {
            let shutdown = tokio_util::sync::CancellationToken::new();
            let drainer = auditor.spawn_drainer(shutdown.clone());
            let delivered = auditor.record_local(change).await.map_err(|e| anyhow::anyhow!(e));
            // What waits in the spool (this record, or an earlier one) gets
            // a few seconds to reach Kafka before the command exits.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while auditor.spooling() && std::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            auditor.flush(std::time::Duration::from_secs(10));
            if auditor.spooling() {
                eprintln!("warning: kafka is unavailable: the audit record of {what} waits in {} until {until} delivers it", spool.display());
            }
            shutdown.cancel();
            let _ = drainer.await;
            delivered.map(|_| ())
        })
    })
}

pub fn retention(args: RetentionArgs) -> anyhow::Result<()> {
    let config = args.pipeline.load()?;
    let now = match &args.now {
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .with_context(|| format!("--now `{text}` is not an RFC 3339 time"))?
            .to_utc(),
        None => Utc::now(),
    };
    let signer = ManifestSigner::load_or_create(&config.indexer.signing_key)?;
    let report = retention::apply(&config.data_dir, &config, &signer, now, args.dry_run)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let verb = if args.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        for split in &report.deleted {
            println!("{verb} {split}");
        }
        for split in &report.held {
            println!("held (legal hold) {split}");
        }
        println!(
            "{verb} {}, held {}, kept {}",
            report.deleted.len(),
            report.held.len(),
            report.kept
        );
    }
    Ok(())
}

pub fn execute(command: ComplianceCommand) -> anyhow::Result<()> {
    match command {
        ComplianceCommand::Report(args) => report(args),
        ComplianceCommand::PinKey(args) => pin(args),
        ComplianceCommand::Review(args) => review(args),
    }
}

fn parse_time(flag: &str, text: &str) -> anyhow::Result<chrono::DateTime<Utc>> {
    Ok(chrono::DateTime::parse_from_rfc3339(text)
        .with_context(|| format!("{flag} `{text}` is not an RFC 3339 time"))?
        .to_utc())
}

fn report(args: ComplianceReportArgs) -> anyhow::Result<()> {
    let (data_dir, policies) = match &args.config {
        Some(_) => {
            let pipeline = PipelineArgs { config: args.config.clone(), data_dir: args.data_dir.clone(), ..PipelineArgs::default() };
            let config = pipeline.load()?;
            (config.data_dir.clone(), Some(Policies::of(&config)))
        }
        None => (args.data_dir.clone().context("--config or --data-dir is required")?, None),
    };
    let options = ReportOptions {
        data_dir,
        policies,
        at: args.at.as_deref().map(|t| parse_time("--at", t)).transpose()?.unwrap_or_else(Utc::now),
        from: args.from.as_deref().map(|t| parse_time("--from", t)).transpose()?,
        verify_max_age: args.verify_max_age,
        public_key: args.document.public_key.clone(),
    };
    let report = logwarden_compliance::build(&options)
        .with_context(|| format!("building the compliance report of {}", options.data_dir.display()))?;
    let (format, lang) = format_and_lang(&args.document)?;
    let text = render(&report, format, lang);
    write_out(&text, format, args.document.out.as_deref())?;
    if let Some(path) = &args.document.out {
        eprintln!("compliance report: {} ({})", report.status, path.display());
    }
    Ok(())
}

/// `--format` and `--lang` of a report or review.
fn format_and_lang(args: &DocumentArgs) -> anyhow::Result<(Format, Lang)> {
    let format = Format::parse(&args.format).context("--format is json, csv, html or pdf")?;
    let lang = Lang::parse(&args.lang).context("--lang is ko or en")?;
    Ok((format, lang))
}

/// Writes a rendered report or review to `out` (PDF: printed with a
/// headless browser, which must be installed) or stdout.
fn write_out(text: &str, format: Format, out: Option<&std::path::Path>) -> anyhow::Result<()> {
    if format == Format::Pdf {
        let path = out.context("--format pdf needs --out FILE")?;
        // Fails before any work when no browser is installed.
        logwarden_compliance::render::pdf::find_browser()?;
        return logwarden_compliance::render::pdf::print(text, path).with_context(|| format!("printing {}", path.display()));
    }
    match out {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                stdout.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

/// Records a review produced by the command (`compliance-review`, the
/// OS user as `cli:NAME`), through the audit spool of the command line.
fn record_review(
    config: &logwarden_config::Config,
    data_dir: &std::path::Path,
    review: &logwarden_compliance::review::Review,
) -> anyhow::Result<()> {
    let user = os_user();
    let fields = vec![
        ("review.month", review.month.clone()),
        ("review.timezone", review.timezone.clone()),
        ("review.status", review.status.to_string()),
        ("review.findings", review.summary.findings.to_string()),
        ("review.pending", review.summary.pending.to_string()),
        ("review.integrity", review.integrity.status.to_string()),
        ("review.findings.sha256", review.findings_sha256.clone()),
        ("process.pid", std::process::id().to_string()),
    ];
    let message = format!(
        "cli:{} generated the access review of {}: {} findings, {} pending, integrity {}",
        user.name, review.month, review.summary.findings, review.summary.pending, review.integrity.status
    );
    deliver_cli_record(config, data_dir, &user, "compliance-review", message, fields, ("this review", "a later command"))
}

/// `logwarden compliance review`: the monthly access review.
fn review(args: ComplianceReviewArgs) -> anyhow::Result<()> {
    use logwarden_compliance::review::{Month, ReviewOptions};
    let (format, lang) = format_and_lang(&args.document)?;
    if format == Format::Pdf {
        anyhow::ensure!(args.document.out.is_some(), "--format pdf needs --out FILE");
        logwarden_compliance::render::pdf::find_browser()?;
    }
    let pipeline = match &args.config {
        Some(_) => Some(PipelineArgs { config: args.config.clone(), data_dir: args.data_dir.clone(), ..PipelineArgs::default() }.load()?),
        None => None,
    };
    let (data_dir, policies, config) = match &pipeline {
        Some(config) => (config.data_dir.clone(), Some(Policies::of(config)), config.compliance.review.clone()),
        None => (args.data_dir.clone().context("--config or --data-dir is required")?, None, Default::default()),
    };
    let tz = match &args.tz {
        Some(name) => logwarden_compliance::review::zone(name).with_context(|| format!("--tz `{name}` is not an IANA time zone like Asia/Seoul"))?,
        None => config.timezone,
    };
    let month = Month::parse(&args.month, tz).with_context(|| format!("--month `{}` is not a month like 2026-11", args.month))?;
    let options = ReviewOptions { data_dir, config, month, policies, public_key: args.document.public_key.clone(), now: Utc::now() };
    let review = logwarden_compliance::review::build(&options)
        .with_context(|| format!("building the access review of {} for {}", options.data_dir.display(), month.name()))?;
    // With the pipeline's config, producing the review is recorded in the
    // `audit` stream as the API records it; a copy reviewed offline
    // (`--data-dir` alone) is not the pipeline's to record in.
    if let Some(config) = &pipeline {
        record_review(config, &options.data_dir, &review)
            .context("the review could not be recorded in the audit stream; nothing was written")?;
    }
    let text = logwarden_compliance::render::render_review(&review, format, lang);
    write_out(&text, format, args.document.out.as_deref())?;
    if let Some(path) = &args.document.out {
        eprintln!(
            "access review {}: {} ({} findings, {} pending; integrity {}) ({})",
            review.month,
            review.status,
            review.summary.findings,
            review.summary.pending,
            review.integrity.status,
            path.display()
        );
    }
    Ok(())
}

fn pin(args: PinKeyArgs) -> anyhow::Result<()> {
    let key = args.public_key.unwrap_or_else(|| logwarden_compliance::report::default_public_key(&args.data_dir));
    let key_id = pin_key(&args.data_dir, &key).with_context(|| format!("pinning {}", key.display()))?;
    println!("pinned key {key_id} ({})", key.display());
    Ok(())
}
