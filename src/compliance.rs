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

use crate::cli::{ComplianceCommand, ComplianceReportArgs, ExportArgs, PinKeyArgs, PipelineArgs, RetentionArgs, VerifyArgs};

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
                "{}/p{}: {} manifests, {} splits verified ({} events), {} deleted by retention, {} empty windows, {} active; head seq {} sealed {}",
                chain.stream,
                chain.partition,
                chain.manifests,
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
        }
        println!(
            "key {}{}; {} files hashed, {} manifests, {} splits verified ({} records), {} empty windows, {} deleted by retention",
            report.key_id.as_deref().unwrap_or("-"),
            if pinned.is_some() { " (pinned)" } else { " (the bundle's own key: compare it with your pinned copy)" },
            report.files,
            report.manifests_verified,
            report.splits_verified,
            report.records_verified,
            report.empty_windows,
            report.deleted_splits,
        );
        for problem in &report.problems {
            println!("BROKEN {}: {}", problem.item, problem.what);
        }
    }
    if let Some(first) = report.problems.first() {
        anyhow::bail!("bundle verification failed: {} problem(s); first broken item: {}: {}", report.problems.len(), first.item, first.what);
    }
    if !json {
        println!("OK: signature, every file hash, the chain and every record verified");
    }
    Ok(())
}

/// `logwarden export`: writes a signed audit bundle.
pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    if args.query.is_some() {
        anyhow::bail!("--query is not supported yet: a filtered export needs Merkle inclusion proofs per record; export the whole range instead");
    }
    let (data_dir, policies, signing_key, max_bytes) = match &args.config {
        Some(_) => {
            let pipeline = PipelineArgs { config: args.config.clone(), data_dir: args.data_dir.clone(), ..PipelineArgs::default() };
            let config = pipeline.load()?;
            (config.data_dir.clone(), Some(Policies::of(&config)), config.indexer.signing_key.clone(), config.compliance.max_export_bytes)
        }
        None => {
            let dir = args.data_dir.clone().context("--config or --data-dir is required")?;
            let key = dir.join("keys").join("manifest-signing.pem");
            (dir, None, key, logwarden_config::DEFAULT_MAX_EXPORT_BYTES)
        }
    };
    let request = logwarden_compliance::export::ExportRequest {
        data_dir,
        stream: args.stream.clone(),
        from: parse_time("--from", &args.from)?,
        to: parse_time("--to", &args.to)?,
        max_bytes,
        signing_key,
        policies,
        requested_by: std::env::var("USER").map(|u| format!("cli:{u}")).unwrap_or_else(|_| "cli".into()),
        out: args.out.clone(),
    };
    let summary = logwarden_compliance::export::export(&request)
        .with_context(|| format!("exporting stream {} to {}", args.stream, args.out.display()))?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
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
        public_key: args.public_key,
    };
    let report = logwarden_compliance::build(&options)
        .with_context(|| format!("building the compliance report of {}", options.data_dir.display()))?;
    let format = Format::parse(&args.format).context("--format is json, csv or html")?;
    let lang = Lang::parse(&args.lang).context("--lang is ko or en")?;
    let text = render(&report, format, lang);
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("compliance report: {} ({})", report.status, path.display());
        }
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

fn pin(args: PinKeyArgs) -> anyhow::Result<()> {
    let key = args.public_key.unwrap_or_else(|| logwarden_compliance::report::default_public_key(&args.data_dir));
    let key_id = pin_key(&args.data_dir, &key).with_context(|| format!("pinning {}", key.display()))?;
    println!("pinned key {key_id} ({})", key.display());
    Ok(())
}
