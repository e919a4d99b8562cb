//! The stages of `logwarden bench`, in order, each reporting progress on
//! stderr: corpus, collector, raw producer, perf-test, indexer (with raw
//! tantivy and search latency), freshness under a full `run`, then the
//! detector (throughput, CPU share, alert latency).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use logwarden_generator::Limit;
use serde_json::json;

use crate::args::BenchArgs;
use crate::corpus::{self, CorpusInfo, Payloads, Size};
use crate::detection::{self, Detection};
use crate::figures::{Figures, figures};
use crate::large;
use crate::measured::{MB, Measured, Pipeline, Round, Rounds, median_by, median_run};
use crate::kafka::{self, KafkaBytes, PerfTest, Topics, Watermarks};
use crate::process::{self, Component, Usage};
use crate::report;
use crate::rss::RssSampler;
use crate::search::{self, Freshness, Markers, QueryLatency, SearchClient};
use crate::tantivy_baseline;

const STOP_GRACE: Duration = Duration::from_secs(60);
const MARKER_POLL: Duration = Duration::from_millis(100);
/// How often the freshness stage samples the indexer's lag.
pub(crate) const LAG_SAMPLE: Duration = Duration::from_millis(250);
/// How often the freshness stage counts the searchable events: the end of
/// the corpus is seen within this (each second before: up to 9 % of an
/// 11 s run added to the pipeline's time).
const COUNT_POLL: Duration = Duration::from_millis(250);
/// How long markers written after the load may take to show up.
const MARKER_WAIT: Duration = Duration::from_secs(30);

/// Runs every stage and prints the report.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let started_at = Utc::now();
    let load_before = report::load_average();
    let run_id = format!(
        "{}-{}",
        started_at.format("%Y%m%d%H%M%S"),
        std::process::id()
    );
    let temp;
    let work: PathBuf = match &args.work_dir {
        // Each run in a directory of its own: a data dir left by an
        // earlier run would be resumed (an indexer finding its events
        // already indexed, a collector its files already read).
        Some(dir) => {
            let work = dir.join(format!("run-{run_id}"));
            std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
            eprintln!("bench: work dir {}", work.display());
            work
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("logwarden-bench-")
                .tempdir()
                .context("creating a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let topic = |stage: &str| format!("logwarden-bench-{run_id}-{stage}");
    let brokers = args.brokers.as_str();
    let partitions = args.partitions();
    let workers = args.workers();
    let timeout = args.stage_timeout;
    let script = kafka::find_script(args.kafka_script.as_ref());
    let mut topics = Topics::new(brokers, partitions);

    // a. corpus
    stage("corpus: generating");
    let limit = match args.lines {
        Some(lines) => Limit::Lines(lines),
        None => Limit::Bytes(args.size),
    };
    let corpus = corpus::generate(
        &work.join("corpus"),
        limit,
        args.span,
        args.seed,
        args.json_share,
    )?;
    eprintln!(
        "bench:   {} lines, {:.1} MB in {}",
        corpus.lines,
        corpus.bytes as f64 / MB,
        corpus.dir.display()
    );
    if args.large {
        let (stages, figures) = large::run(&args, &work, &corpus, &mut topics, &topic("large"))?;
        let size = Size { events: corpus.lines as u64, raw_bytes: corpus.bytes };
        let load_after = report::load_average();
        let report = json!({
            "date": started_at.to_rfc3339(),
            "finished": Utc::now().to_rfc3339(),
            "command": std::env::args().collect::<Vec<_>>().join(" "),
            "machine": report::machine(),
            "load_average_before": load_before,
            "load_average_after": load_after,
            "versions": report::versions(script.as_deref()),
            "settings": { "brokers": brokers, "partitions": partitions, "indexer_workers": workers, "large": true },
            "corpus": corpus,
            "stages": stages,
            "figures": figures,
        });
        return print_report(&args, &report, &large::title(started_at, size, [load_before, load_after]), &figures);
    }
    stage("corpus: parsing and encoding the payloads every baseline uses");
    let payloads = corpus::encode(&corpus)?;
    let events = payloads.len() as u64;
    let corpus_glob = format!("{}/*", corpus.dir.display());

    // b. collector and c. raw librdkafka producer, in alternating rounds
    let rounds = args.rounds();
    let (mut eo_runs, mut alo_runs, mut raw_runs) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let of = format!("round {} of {rounds}", round + 1);
        let name = |what: &str| of_round(&topic(what), round);
        stage(&format!("collector ({of}): tailing the corpus into Kafka"));
        topics.create(&name("collector"))?;
        let run = collector_stage(&args, &work, &name("collector"), &corpus_glob, payloads.size(), "exactly_once", round)?;
        eprintln!("bench:   {:.0} events/s", run.events_per_sec);
        eo_runs.push(run);
        stage(&format!("collector, at least once ({of}): the same corpus without Kafka transactions"));
        topics.create(&name("collector-alo"))?;
        let run = collector_stage(&args, &work, &name("collector-alo"), &corpus_glob, payloads.size(), "at_least_once", round)?;
        eprintln!("bench:   {:.0} events/s", run.events_per_sec);
        alo_runs.push(run);
        stage(&format!("raw producer ({of}): the same payloads, same producer settings, from this process"));
        topics.create(&name("raw"))?;
        let raw_config = kafka::kafka_config(brokers, &name("raw"))?;
        let raw_elapsed = kafka::produce_raw(&raw_config, &payloads, timeout)?;
        let raw_count = Watermarks::new(brokers, &name("raw"))?.total()?;
        anyhow::ensure!(
            raw_count as u64 == events,
            "raw producer topic holds {raw_count} of {events} messages"
        );
        let run = Measured::new(raw_elapsed.as_secs_f64(), events, payloads.raw_bytes, None);
        eprintln!("bench:   {:.0} events/s", run.events_per_sec);
        raw_runs.push(run);
    }
    let mut rounds_note = Rounds {
        collector: Round::of(&eo_runs),
        collector_at_least_once: Round::of(&alo_runs),
        raw_producer: Round::of(&raw_runs),
        ..Rounds::default()
    };
    let (collector, collector_alo, raw_producer) =
        (median_run(eo_runs), median_run(alo_runs), median_run(raw_runs));
    let raw_topic = topic("raw");
    let partition_share = largest_share(&Watermarks::new(brokers, &topic("collector"))?.highs()?);
    eprintln!("bench:   largest partition holds {partition_share:.1} % of the messages");
    stage("bytes on Kafka: the collector's and the raw producer's topics (LogDirsCommand)");
    let kafka_bytes = KafkaBytes::measure(script.as_deref(), brokers, &topic("collector"), &raw_topic);

    // d. kafka-producer-perf-test
    let perf = perf_test_stage(
        &args,
        &work,
        &mut topics,
        &topic("perf"),
        script.as_deref(),
        &payloads,
    );
    let perf_note = perf.as_ref().err().map(|e| format!("{e:#}"));
    let perf = perf.ok();

    // e. the indexer and raw tantivy with the same schema in alternating
    // rounds, a baseline run before the first indexer round and one after
    // each: a round's baseline is the mean of the two around it, so the
    // host's drift over the round cancels rather than lands on one side
    // (search latency on the first round's finished index)
    //
    // What a round leaves is deleted after the last stage, not before the
    // next: on ext4 without a journal (this machine's disk) each new inode
    // scans past those freed in the last minute or so, and a round's
    // thousands of freed files took 3-5 % of the next indexer round's CPU
    // (`__ext4_new_inode` in `perf`; 0.8 % on a quiet disk): the bench's
    // own clean-up billed to the stage after it.
    let mut spent: Vec<PathBuf> = Vec::new();
    let (mut indexer_runs, mut same_runs) = (Vec::new(), Vec::new());
    let (mut api_usage, mut search, mut index_bytes) = (None, Vec::new(), 0);
    let same_schema = |run: usize, spent: &mut Vec<PathBuf>| -> anyhow::Result<Measured> {
        stage(&format!(
            "raw tantivy, same schema (run {} of {}, {}): the indexer's documents (LogSchema), one commit",
            run + 1,
            rounds + 1,
            if run == 0 { "before the first indexer round".to_string() } else { format!("after indexer round {run}") }
        ));
        let dir = work.join(of_round("tantivy-same-schema", run));
        let same = tantivy_baseline::index_same_schema(&payloads, &dir, workers as usize)?;
        let measured = Measured::with_cpu_seconds(same.elapsed.as_secs_f64(), events, payloads.raw_bytes, Some(same.cpu_seconds));
        eprintln!(
            "bench:   {:.0} events/s on {workers} threads, {:.0} events per CPU-second",
            measured.events_per_sec,
            measured.events_per_cpu_second.unwrap_or_default()
        );
        spent.push(dir);
        Ok(measured)
    };
    same_runs.push(same_schema(0, &mut spent)?);
    // Its directory stays until the last stage is over.
    let same_schema_bytes = dir_bytes(&work.join(of_round("tantivy-same-schema", 0)));
    for round in 0..rounds {
        let of = format!("round {} of {rounds}", round + 1);
        stage(&format!("indexer ({of}): consuming the collector's topic into splits"));
        let (measured, usage, latency) =
            indexer_stage(&args, &work, &topic("collector"), payloads.size(), corpus.last_event, round)?;
        indexer_runs.push(measured);
        let data = work.join(of_round("indexer-data", round));
        if round == 0 {
            (api_usage, search, index_bytes) = (usage, latency, dir_bytes(&data.join("streams")));
        } else {
            spent.push(data);
        }
        same_runs.push(same_schema(round + 1, &mut spent)?);
    }
    let brackets: Vec<Measured> = same_runs.windows(2).map(|pair| Measured::bracket(&pair[0], &pair[1])).collect();
    rounds_note.indexer = Round::of(&indexer_runs);
    rounds_note.indexer_same_schema = Round::of(&brackets);
    rounds_note.same_schema_runs = Round::of(&same_runs);
    let (indexer, tantivy_same) = (median_run(indexer_runs), median_run(brackets));
    stage("raw tantivy, 4 fields: the same events into a plain index (tantivy's ceiling)");
    let tantivy_elapsed =
        tantivy_baseline::index(&payloads, &work.join("tantivy"), workers as usize)?;
    let tantivy = Measured::new(
        tantivy_elapsed.as_secs_f64(),
        events,
        payloads.raw_bytes,
        None,
    );
    eprintln!(
        "bench:   {:.0} events/s on {workers} threads",
        tantivy.events_per_sec
    );

    // f. freshness under load: everything in one `run` process, in rounds
    // (the markers of every round pooled)
    let mut pipeline_runs = Vec::new();
    for round in 0..rounds {
        stage(&format!(
            "freshness (round {} of {rounds}): `logwarden run` on the corpus with marker lines during the load",
            round + 1
        ));
        let name = of_round(&topic("run"), round);
        topics.create(&name)?;
        pipeline_runs.push(freshness_stage(&args, &work, &name, &corpus_glob, &payloads, round)?);
        if round > 0 {
            spent.push(work.join(of_round("run-data", round)));
        }
    }
    rounds_note.pipeline = pipeline_runs.iter().map(|p| Round::from(&p.measured)).collect();
    let freshness = Freshness::pooled(&pipeline_runs.iter().map(|p| &p.freshness).collect::<Vec<_>>());
    let mut pipeline = median_by(pipeline_runs, |p| p.measured.events_per_sec);
    pipeline.freshness = freshness;

    // g. the detector: throughput beside rsigma, CPU share, alert latency
    let detection: Option<Detection> = if args.skip_detect {
        None
    } else {
        Some(detection::run(detection::Inputs {
            args: &args,
            work: &work,
            topics: &mut topics,
            topic: &topic,
            corpus_glob: &corpus_glob,
            payloads: &payloads,
        })?)
    };

    for dir in spent {
        let _ = std::fs::remove_dir_all(dir);
    }
    let load_after = report::load_average();
    let figures = figures(&Figures {
        collector: &collector,
        collector_at_least_once: &collector_alo,
        kafka_bytes: &kafka_bytes,
        payload_bytes: payloads.payload_bytes(),
        raw_producer: &raw_producer,
        rounds: &rounds_note,
        perf: perf.as_ref(),
        perf_note: perf_note.as_deref(),
        encode_events_per_sec: events as f64 / payloads.encode_seconds.max(1e-9),
        indexer: &indexer,
        tantivy: &tantivy,
        tantivy_same_schema: &tantivy_same,
        index_bytes,
        same_schema_bytes,
        workers,
        partition_share,
        partitions,
        api_usage,
        pipeline: &pipeline,
        search: &search,
        detection: detection.as_ref(),
    });
    let command: Vec<String> = std::env::args().collect();
    let report = json!({
        "date": started_at.to_rfc3339(),
        "finished": Utc::now().to_rfc3339(),
        "command": command.join(" "),
        "machine": report::machine(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "versions": report::versions(script.as_deref()),
        "settings": {
            "brokers": brokers, "partitions": partitions, "indexer_workers": workers,
            "search_clients": args.search_clients, "search_repeats": args.search_repeats(),
            "rounds": rounds,
            "marker_rate_per_sec": args.marker_rate,
            "windows_rules": args.windows_rules, "alerts": args.alerts(),
        },
        "corpus": corpus_json(&corpus, &payloads),
        "stages": {
            "collector": collector, "collector_at_least_once": collector_alo,
            "kafka_bytes": kafka_bytes, "raw_producer": raw_producer, "rounds": rounds_note, "perf_test": perf,
            "perf_test_skipped": perf_note, "indexer": indexer, "raw_tantivy": tantivy,
            "raw_tantivy_same_schema": tantivy_same,
            "index_bytes_on_disk": index_bytes, "same_schema_index_bytes_on_disk": same_schema_bytes,
            "largest_partition_share_percent": partition_share,
            "query_api_usage": api_usage, "pipeline_run": pipeline, "search": search,
            "detection": detection,
            "detection_skipped": args.skip_detect.then_some("skipped (--skip-detect)"),
        },
        "figures": figures,
    });
    let title = format!(
        "logwarden bench {} — {} events, {:.1} MB raw, {} cores, load average {:?} before / {:?} after",
        started_at.format("%Y-%m-%d %H:%M UTC"),
        events,
        payloads.raw_bytes as f64 / MB,
        report::machine()["cores"],
        load_before.unwrap_or_default(),
        load_after.unwrap_or_default(),
    );
    print_report(&args, &report, &title, &figures)
}

/// Saves the JSON report to `--out` and prints it (`--json`) or the table.
fn print_report(
    args: &BenchArgs,
    report: &serde_json::Value,
    title: &str,
    figures: &[crate::report::Figure],
) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    if let Some(out) = &args.out {
        std::fs::write(out, &text).with_context(|| format!("writing {}", out.display()))?;
    }
    if args.json {
        println!("{text}");
    } else {
        println!("{title}");
        print!("{}", report::table(figures));
    }
    Ok(())
}

pub(crate) fn stage(what: &str) {
    eprintln!("bench: {what}");
}

fn corpus_json(corpus: &CorpusInfo, payloads: &Payloads) -> serde_json::Value {
    json!({
        "lines": corpus.lines,
        "raw_bytes": corpus.bytes,
        "files": corpus.files,
        "first_event": corpus.first_event.to_rfc3339(),
        "last_event": corpus.last_event.to_rfc3339(),
        "generate_seconds": corpus.generate_seconds,
        "payload_bytes": payloads.payload_bytes(),
        "avg_payload_bytes": payloads.payload_bytes() as f64 / payloads.len().max(1) as f64,
        "encode_seconds": payloads.encode_seconds,
    })
}

/// The collector alone on the corpus, with `collector.delivery = delivery`
/// (`exactly_once` keeps the file names of earlier runs).
pub(crate) fn collector_stage(
    args: &BenchArgs,
    work: &Path,
    topic: &str,
    glob: &str,
    size: Size,
    delivery: &str,
    round: usize,
) -> anyhow::Result<Measured> {
    let marks = Watermarks::new(&args.brokers, topic)?;
    // A topic just created may not have its leaders yet.
    let ready = Instant::now();
    while let Err(error) = marks.total() {
        anyhow::ensure!(ready.elapsed() < Duration::from_secs(30), "{error:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let warm = kafka::warm_transactions(&args.brokers)?;
    eprintln!("bench:   transaction coordinator and checkpoints topic ready in {:.2} s (not timed)", warm.as_secs_f64());
    let delivery_suffix = if delivery == "exactly_once" { String::new() } else { format!("-{delivery}") };
    let round_suffix = if round == 0 { String::new() } else { format!("-{round}") };
    let suffix = format!("{delivery_suffix}{round_suffix}");
    let log = work.join(format!("collector{suffix}.log"));
    let config = work.join(format!("collector{suffix}.toml"));
    std::fs::write(&config, format!("[collector]\ndelivery = \"{delivery}\"\n"))
        .with_context(|| format!("writing {}", config.display()))?;
    let config = config.display().to_string();
    let command = strings(&[
        "collector",
        "--config",
        &config,
        "--brokers",
        &args.brokers,
        "--topic",
        topic,
        "--input",
        glob,
        "--data-dir",
    ]);
    let command = with_path(command, &work.join(format!("collector{suffix}-data")));
    let started = Instant::now();
    let mut collector = Component::start("collector", &command, &log, false)?;
    let done = marks.wait_for(size.events as i64, args.stage_timeout, || {
        collector.check_alive(&log)
    })?;
    let usage = collector.usage()?;
    collector.stop(STOP_GRACE)?;
    Ok(Measured::new((done - started).as_secs_f64(), size.events, size.raw_bytes, Some(usage)))
}

fn perf_test_stage(
    args: &BenchArgs,
    work: &Path,
    topics: &mut Topics,
    topic: &str,
    script: Option<&Path>,
    payloads: &Payloads,
) -> anyhow::Result<PerfTest> {
    anyhow::ensure!(!args.skip_perf_test, "skipped (--skip-perf-test)");
    let script = script.context("scripts/kafka.sh not found: give --kafka-script")?;
    let records = args.perf_test_records(payloads.len());
    stage(&format!(
        "kafka-producer-perf-test: {records} records of the bench payloads"
    ));
    topics.create(topic)?;
    let file = work.join("payloads.txt");
    // ProducerPerformance keeps the payload file in memory: a sample is enough.
    corpus::write_payload_file(payloads, &file, 100_000)?;
    let config = kafka::kafka_config(&args.brokers, topic)?;
    let result = kafka::perf_test(script, &config, records, &file);
    match &result {
        Ok(perf) => eprintln!("bench:   {:.0} records/s", perf.records_per_sec),
        Err(e) => eprintln!("bench:   perf-test failed: {e:#}"),
    }
    result
}

pub(crate) fn indexer_stage(
    args: &BenchArgs,
    work: &Path,
    topic: &str,
    size: Size,
    newest_event: chrono::DateTime<Utc>,
    round: usize,
) -> anyhow::Result<(Measured, Option<Usage>, Vec<QueryLatency>)> {
    let events = size.events;
    let data = work.join(of_round("indexer-data", round));
    let log = work.join(of_round("indexer", round) + ".log");
    let api_log = work.join(of_round("query-api", round) + ".log");
    let group = of_round(&format!("{topic}-indexer"), round);
    let workers = args.workers().to_string();
    let command = strings(&[
        "indexer",
        "--brokers",
        &args.brokers,
        "--topic",
        topic,
        "--group",
        &group,
        "--workers",
        &workers,
        "--data-dir",
    ]);
    let started = Instant::now();
    let mut indexer = Component::start("indexer", &with_path(command, &data), &log, false)?;
    let api_command = with_path(
        strings(&["query-api", "--brokers", &args.brokers, "--http-addr", "127.0.0.1:0", "--data-dir"]),
        &data,
    );
    let api = Component::start("query-api", &api_command, &api_log, true)?;
    let key = search::admin_key(&data);
    let client = SearchClient::new(api.http.as_deref().context("query API address")?, key.as_deref())?;
    let mut rss = RssSampler::new(indexer.pid(), Duration::from_secs(1));
    let (first, done) = client.wait_for_count(events, args.stage_timeout, |searchable| {
        rss.sample(searchable, false)?;
        indexer.check_alive(&log)
    })?;
    rss.sample(events, true)?;
    let usage = indexer.usage()?;
    let threads = process::thread_cpu_of(indexer.pid(), usage.cpu_seconds);
    indexer.stop(STOP_GRACE)?;
    let mut measured = Measured::new((done - started).as_secs_f64(), events, size.raw_bytes, Some(usage));
    // A split that could not be read leaves the figure out, not the bench.
    measured.threads = threads.map_err(|e| eprintln!("bench:   no CPU by thread for the indexer: {e:#}")).ok();
    measured.first_seen_seconds = Some((first - started).as_secs_f64());
    measured.rss_over_time = Some(rss.finish(events));
    eprintln!(
        "bench:   {:.0} events/s from process start ({:.1} s to the first searchable event)",
        measured.events_per_sec,
        (first - started).as_secs_f64()
    );
    // The first round's index answers the searches (the others only time
    // indexing).
    let search = if round == 0 {
        stage("search latency: the query API issue's queries on the finished index");
        let addr = api.http.clone().context("query API address")?;
        search::query_latency(
            &addr,
            key.as_deref(),
            &search::queries(newest_event),
            args.search_clients,
            args.search_repeats(),
        )?
    } else {
        Vec::new()
    };
    let api_usage = api.usage().ok();
    api.stop(STOP_GRACE)?;
    Ok((measured, api_usage, search))
}

fn freshness_stage(
    args: &BenchArgs,
    work: &Path,
    topic: &str,
    glob: &str,
    payloads: &Payloads,
    round: usize,
) -> anyhow::Result<Pipeline> {
    let markers_dir = work.join(of_round("markers", round));
    std::fs::create_dir_all(&markers_dir)?;
    let markers_path = markers_dir.join("markers.log");
    let mut markers = Markers::create(&markers_path)?;
    let log = work.join(of_round("run", round) + ".log");
    let group = format!("{topic}-indexer");
    let workers = args.workers().to_string();
    let markers_glob = markers_path.display().to_string();
    let command = strings(&[
        "run",
        "--brokers",
        &args.brokers,
        "--topic",
        topic,
        "--group",
        &group,
        "--workers",
        &workers,
        "--input",
        glob,
        "--input",
        &markers_glob,
        "--http-addr",
        "127.0.0.1:0",
        "--data-dir",
    ]);
    let started = Instant::now();
    let data = work.join(of_round("run-data", round));
    let mut run = Component::start("run", &with_path(command, &data), &log, true)?;
    let addr = run.http.clone().context("run HTTP address")?;
    let client = SearchClient::new(&addr, search::admin_key(&data).as_deref())?;
    let events = payloads.len() as u64;
    // Markers are paced from when the pipeline serves, not from its spawn:
    // no burst of markers queued up during start-up.
    let markers_started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / args.marker_rate.max(0.01));
    let min_markers = args.min_markers();
    let mut corpus_done: Option<Instant> = None;
    let mut markers_during_load = 0;
    let mut last_write = Instant::now();
    let mut last_count = Instant::now() - COUNT_POLL;
    let mut last_report = Instant::now();
    let mut lags = Vec::new();
    let mut last_lag = Instant::now() - LAG_SAMPLE;
    loop {
        process::check_interrupted()?;
        run.check_alive(&log)?;
        if corpus_done.is_none() && last_lag.elapsed() >= LAG_SAMPLE {
            last_lag = Instant::now();
            sample_lag(&addr, &mut lags)?;
        }
        let elapsed = started.elapsed();
        let due = (markers_started.elapsed().as_secs_f64() / interval.as_secs_f64()) as usize + 1;
        if (corpus_done.is_none() || markers.written() < min_markers) && markers.written() < due {
            markers.write(Utc::now())?;
            last_write = Instant::now();
            if corpus_done.is_none() {
                markers_during_load = markers.written();
            }
        }
        markers.poll(&client)?;
        if corpus_done.is_none() && last_count.elapsed() >= COUNT_POLL {
            last_count = Instant::now();
            let seen = (markers.written() - markers.outstanding()) as u64;
            let total = client.count()?;
            if total >= events + seen {
                corpus_done = Some(Instant::now());
                // At least one sample, however fast a small corpus went.
                sample_lag(&addr, &mut lags)?;
            } else if last_report.elapsed() >= Duration::from_secs(5) {
                eprintln!(
                    "bench:   {}/{events} events searchable",
                    total.saturating_sub(seen)
                );
                last_report = Instant::now();
            }
        }
        let enough = markers.written() >= min_markers;
        if corpus_done.is_some()
            && enough
            && (markers.outstanding() == 0 || last_write.elapsed() > MARKER_WAIT)
        {
            break;
        }
        anyhow::ensure!(
            elapsed < args.stage_timeout,
            "freshness stage did not finish within {:?}",
            args.stage_timeout
        );
        std::thread::sleep(MARKER_POLL);
    }
    let done = corpus_done.expect("loop ends after the corpus");
    let usage = run.usage()?;
    let metrics = search::fetch_metrics(&addr).unwrap_or_default();
    run.stop(STOP_GRACE)?;
    let freshness = markers.result(MARKER_POLL);
    eprintln!(
        "bench:   {}/{} markers found, latency {:?}",
        freshness.markers_found, freshness.markers_written, freshness.latency
    );
    Ok(Pipeline {
        measured: Measured::new(
            (done - started).as_secs_f64(),
            events,
            payloads.raw_bytes,
            Some(usage),
        ),
        freshness,
        markers_during_load,
        mean_commit_seconds: search::metric_mean(&metrics, "logwarden_indexer_commit_seconds"),
        lag_p50_events: crate::stats::distribution(&lags).map(|d| d.p50_ms),
        lag_max_events: lags.iter().copied().reduce(f64::max),
    })
}

/// Appends the indexer's lag summed over its partitions, once it has any.
fn sample_lag(addr: &str, lags: &mut Vec<f64>) -> anyhow::Result<()> {
    let metrics = search::fetch_metrics(addr)?;
    lags.extend(search::metric_total(&metrics, "logwarden_indexer_partition_lag_events"));
    Ok(())
}

/// The largest partition's share of a topic's messages, in percent
/// (`highs`: each partition's high watermark, from offset 0).
pub(crate) fn largest_share(highs: &[i64]) -> f64 {
    let total: i64 = highs.iter().sum();
    let largest = highs.iter().copied().max().unwrap_or(0);
    100.0 * largest as f64 / total.max(1) as f64
}

/// Bytes of the files under `dir` (0 when it does not exist).
pub(crate) fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

/// `name` (a file, directory or topic) for the first round, `name-N` for
/// round N after it.
fn of_round(name: &str, round: usize) -> String {
    if round == 0 { name.to_string() } else { format!("{name}-{round}") }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn with_path(mut command: Vec<String>, path: &Path) -> Vec<String> {
    command.push(path.display().to_string());
    command
}
