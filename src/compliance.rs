//! `logwarden verify` and `logwarden retention`: integrity proofs and
//! retention enforcement over a data directory.

use std::io::Write;

use anyhow::Context;
use chrono::Utc;
use logwarden_store::keys::{ManifestSigner, ManifestVerifier, public_key_path};
use logwarden_indexer::retention;
use logwarden_store::verify;

use crate::cli::{RetentionArgs, VerifyArgs};

pub fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let key = args.public_key.unwrap_or_else(|| {
        public_key_path(&args.data_dir.join("keys").join("manifest-signing.pem"))
    });
    let verifier = ManifestVerifier::load(&key)
        .with_context(|| format!("loading public key {}", key.display()))?;
    let interactive = !args.json;
    let report = verify::verify(&args.data_dir, &verifier, |done, total| {
        if interactive && (done % 100 == 0 || done == total) {
            eprint!("\rverify: {done}/{total} splits");
            let _ = std::io::stderr().flush();
            if done == total {
                eprintln!();
            }
        }
    })?;
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
