//! `logwarden check-config FILE`: loads a configuration exactly as `run
//! --config FILE` does (the file, then the `LOGWARDEN_*` environment, then
//! validation, including the secrets' variables and files it names) and
//! loads the TLS certificates it names, so CI and a Helm chart can refuse a
//! bad config before any pod starts. Prints `OK` or the error naming the key.

use std::path::Path;

use crate::cli::{CheckConfigArgs, PipelineArgs};

pub fn execute(args: CheckConfigArgs) -> anyhow::Result<()> {
    let config = load(&args.file)?;
    println!(
        "OK: {} (kafka {}, data_dir {}, {} file input(s), {} syslog listener(s), http ingest {}, {} auth key(s), {} detect hook(s))",
        args.file.display(),
        config.kafka.brokers,
        config.data_dir.display(),
        config.collector.files.len(),
        config.collector.syslog.len(),
        config.collector.http.listen.map_or("off".to_string(), |addr| addr.to_string()),
        config.auth.keys().len(),
        config.detect.hooks.len(),
    );
    Ok(())
}

fn load(file: &Path) -> anyhow::Result<logwarden_config::Config> {
    let args = PipelineArgs { config: Some(file.to_path_buf()), ..PipelineArgs::default() };
    let config = args.load()?;
    // `run` loads these when it binds its listeners; a missing or
    // mismatched certificate is a config error all the same.
    if let Some(tls) = &config.collector.tls {
        tls.server_config("collector.tls")?;
    }
    if let Some(tls) = &config.api.tls {
        tls.server_config("api.tls")?;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::load;

    fn check(text: &str) -> anyhow::Result<logwarden_config::Config> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        load(file.path())
    }

    #[test]
    fn the_example_config_passes() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config/logwarden.example.toml");
        load(std::path::Path::new(example)).unwrap();
    }

    #[test]
    fn an_error_names_the_key() {
        let error = format!("{:#}", check("[kafka]\ncompression = \"snappy\"\n").unwrap_err());
        assert!(error.contains("kafka.compression"), "{error}");
        let error = format!("{:#}", check("[indexer]\nworkerz = 2\n").unwrap_err());
        assert!(error.contains("workerz"), "{error}");
    }
}
