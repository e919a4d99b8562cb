//! `logwarden detect`: both stages, the hook deliverer and the rule
//! watcher, until SIGTERM.

use logwarden_config::Config;
use tokio_util::sync::CancellationToken;

use crate::live::{LiveRules, WATCH_INTERVAL};
use crate::stage;

pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    if config.detect.rules.is_empty() {
        anyhow::bail!("no rules to run: give --rules PATH or `rules` in [detect]");
    }
    let rules = {
        let detect = config.detect.clone();
        tokio::task::spawn_blocking(move || LiveRules::load(&detect)).await??
    };
    stage::ensure_topics(&config).await?;
    let watcher = tokio::spawn(rules.clone().watch(WATCH_INTERVAL, shutdown.clone()));
    let spawn_stage = |name: &'static str, body: fn(Config, std::sync::Arc<LiveRules>, CancellationToken) -> anyhow::Result<()>| {
        let (config, rules, shutdown) = (config.clone(), rules.clone(), shutdown.clone());
        tokio::task::spawn_blocking(move || {
            let result = body(config, rules, shutdown.clone());
            if let Err(e) = &result {
                tracing::error!(stage = name, error = format!("{e:#}"), "detector stage failed");
                shutdown.cancel();
            }
            result
        })
    };
    let detect = spawn_stage("detect", stage::detect::run);
    let correlate = spawn_stage("correlate", stage::correlate::run);
    let notify = tokio::spawn(crate::notify::run(config.clone(), shutdown.clone()));
    let (detect, correlate, notify) = tokio::join!(detect, correlate, notify);
    watcher.abort();
    detect??;
    correlate??;
    notify??;
    Ok(())
}
