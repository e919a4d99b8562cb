//! Every shell example of README.md, run as shown against the `logwarden`
//! binary cargo builds for the tests and the broker of `scripts/kafka.sh`.
//!
//! How the README is read (the rules this test holds it to):
//!
//! 1. An example is a command of a ```` ```sh ```` block (a line ending in
//!    `\` goes on on the next line; `#` lines are comments, a trailing
//!    `# …` is bash's comment), plus the first screen's `curl` ("Once the
//!    demo runs: `curl …`"). Blocks run in README order, each example
//!    with `bash -c` as written, in a scratch checkout (every top-level
//!    entry of the repository linked in, `../shared` too), so `rules/`,
//!    `data`, `demo/data` and `../shared/data/…` mean what they mean in a
//!    checkout and `data` and `demo` start empty. `PATH` starts with the
//!    directory of the tested binary.
//! 2. Notation: an optional part `[…]` is left out; alternatives `a|b|c`
//!    (`scripts/kafka.sh start|stop|status`) run as the last one, `status`
//!    (`start` is what CI did; `stop` would stop the broker every test uses).
//! 3. Long-running commands (`scripts/demo.sh`, `logwarden
//!    run|collector|indexer|query-api|detect`) start in the background; the test
//!    waits until they are ready (the query API's `/readyz` once it is
//!    announced, else every listener announced on stdout, else, for an
//!    indexer, its first log line), runs the block's next examples against
//!    them, and sends SIGTERM at the next long-running command or the end
//!    of the block: each must then exit 0. `scripts/demo.sh` is given
//!    `LOGWARDEN_BIN` (the tested binary, instead of its release build).
//!    Addresses are used as written (127.0.0.1:8080, :9200, :514, :5514,
//!    the webhook's :9095, a private broker on :19092, which is stopped
//!    and wiped right after its example): nothing else may hold them while
//!    this test runs (cargo runs test binaries one after another).
//! 4. Placeholders are substituted only where README's "Placeholders"
//!    sentence names them: `prod.toml` (the test writes it: the example
//!    config), `events.ndjson` (written), `KEY` (the data dir's admin key),
//!    `$AUDITOR_KEY` (an auditor key made with `logwarden keys create`),
//!    `https://logs:8080` (a `logwarden query-api --config prod.toml` the
//!    test starts for the blocks that name it), `pinned.pub.pem` (the key
//!    `compliance pin-key` pinned) and a finding id such as
//!    `2026-11-3fa9c2d1e0b4a7f1` (a finding of that month's review).
//! 5. Every example must exit 0; [`CHECKS`] says what its output must look
//!    like where the README shows or describes it. Every entry of
//!    [`CHECKS`] and [`NOT_RUN`] must match an example, and every
//!    example is run unless [`NOT_RUN`] lists it with the reason (and a
//!    static check of what CI can check without it).

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_logwarden");
const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Examples that are not run, matched by their start, with why; each has
/// a static check in [`static_check`].
const NOT_RUN: &[(&str, &str)] = &[
    ("scripts/test.sh", "it is the command that runs this test (CI runs it: .ci/run)"),
    ("scripts/ui-test.sh", "scripts/test.sh runs it right after cargo test (needs chromium and npm)"),
    ("kubectl ", "needs a Kubernetes cluster"),
    ("helm upgrade --install", "needs a Kubernetes cluster"),
];

/// What an example's output must look like, by the example's start.
type Check = fn(&Run, &Ctx);
const CHECKS: &[(&str, Check)] = &[
    ("curl -s -H \"Authorization: Bearer $(cat demo/data/admin.key)\"", check_first_search),
    ("logwarden status --data-dir demo/data", check_status),
    ("logwarden rules check", check_rules_check),
    ("logwarden rules test", check_rules_test),
    ("logwarden compliance report", check_json_report),
    ("logwarden compliance review --config prod.toml --month 2026-11 --format html", check_review_html),
    ("logwarden compliance review --config prod.toml --month 2026-11 --format pdf", check_review_pdf),
    ("curl -H \"Authorization: Bearer $AUDITOR_KEY\" 'https://logs:8080/api/v1/compliance/report", check_html_page),
    ("curl -H \"Authorization: Bearer $AUDITOR_KEY\" 'https://logs:8080/api/v1/compliance/review?", check_review_json),
    ("curl -H \"Authorization: Bearer $AUDITOR_KEY\" -H 'content-type: application/json' \\\n    -d '{\"state\"", check_finding),
    ("curl -H \"Authorization: Bearer $AUDITOR_KEY\" -H 'content-type: application/json' \\\n    -d '{\"month\"", check_signoff),
    ("curl -H \"Authorization: Bearer $AUDITOR_KEY\" -H 'content-type: application/json' \\\n    -d '{\"stream\"", check_export_tar),
    ("logwarden export --config prod.toml --stream auth --from 2026-11-01T00:00:00Z --to 2026-12-01T00:00:00Z --out", check_bundle),
    ("logwarden verify auth-nov", check_bundle_verified),
    ("logwarden keys create", check_key_created),
    ("logwarden keys list", check_keys_listed),
    ("curl -H 'Authorization: Bearer KEY' --data-binary @events.ndjson", check_ingested),
    ("logwarden check-config prod.toml", check_config_ok),
    ("openssl genpkey", check_signing_key),
];

#[derive(Debug, Clone)]
struct Example {
    /// README line of the example's first line.
    line: usize,
    /// As written (continuations joined with their newlines).
    text: String,
    /// The README block it is in (0: the first screen's inline `curl`).
    block: usize,
}

/// An example's run: what it printed.
struct Run {
    example: Example,
    stdout: String,
    stderr: String,
}

/// What the examples share: the scratch checkout and what was made for it.
struct Ctx {
    work: PathBuf,
    bin_dir: PathBuf,
    env: Mutex<Vec<(String, String)>>,
    /// The `https://logs:8080` of the block being run.
    api: Mutex<Option<String>>,
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(REPO).join("README.md")).unwrap()
}

/// The examples of README.md (rule 1).
fn examples(readme: &str) -> Vec<Example> {
    let mut found = Vec::new();
    let marker = "Once the demo runs: `";
    let at = readme.find(marker).expect("the first screen's `Once the demo runs: `curl …`` is in README.md");
    let rest = &readme[at + marker.len()..];
    let text = &rest[..rest.find('`').unwrap()];
    let line = readme[..at].lines().count() + 1;
    found.push(Example { line, text: text.to_string(), block: 0 });
    let mut block = 0;
    let mut in_sh = false;
    let mut pending: Option<Example> = None;
    let mut in_fence = false;
    for (i, raw) in readme.lines().enumerate() {
        if raw.starts_with("```") {
            in_sh = !in_fence && raw.trim() == "```sh";
            in_fence = !in_fence;
            block += usize::from(in_sh);
            continue;
        }
        if !in_sh {
            continue;
        }
        if let Some(mut example) = pending.take() {
            example.text.push('\n');
            example.text.push_str(raw);
            if raw.trim_end().ends_with('\\') {
                pending = Some(example);
            } else {
                found.push(example);
            }
            continue;
        }
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        let example = Example { line: i + 1, text: raw.to_string(), block };
        if raw.trim_end().ends_with('\\') {
            pending = Some(example);
        } else {
            found.push(example);
        }
    }
    found
}

/// Drops a trailing comment (a `#` after white space, outside quotes).
fn without_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && previous.is_whitespace() => return line[..i].trim_end(),
            _ => {}
        }
        previous = c;
    }
    line.trim_end()
}

/// The command as bash runs it (rules 2 and 4).
fn runnable(example: &Example, ctx: &Ctx) -> String {
    let mut lines = Vec::new();
    for line in example.text.lines() {
        lines.push(without_comment(line).to_string());
    }
    let mut command = lines.join("\n");
    // Optional parts: ` [--flag VALUE]`.
    let optional = regex::Regex::new(r" \[[^\]\[]*\]").unwrap();
    command = optional.replace_all(&command, "").into_owned();
    // Alternatives: `a|b|c` as one word.
    let alternatives = regex::Regex::new(r"\b([a-z]+)\|([a-z]+)\|([a-z]+)\b").unwrap();
    command = alternatives.replace_all(&command, "$3").into_owned();
    if command.contains("https://logs:8080") {
        let api = ctx.api.lock().unwrap().clone().expect("a query API for https://logs:8080");
        command = command.replace("https://logs:8080", &api);
    }
    if command.contains("Bearer KEY") {
        let key = std::fs::read_to_string(ctx.work.join("data/admin.key")).expect("data/admin.key for KEY");
        command = command.replace("Bearer KEY", &format!("Bearer {}", key.trim()));
    }
    let finding = regex::Regex::new(r"findings/2026-11-[0-9a-f]{16}").unwrap();
    if finding.is_match(&command) {
        let id = ctx.env_var("README_FINDING").expect("a finding id of the 2026-11 review");
        command = finding.replace_all(&command, format!("findings/{id}").as_str()).into_owned();
    }
    command
}

impl Ctx {
    fn env_var(&self, name: &str) -> Option<String> {
        self.env.lock().unwrap().iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn set_env(&self, name: &str, value: &str) {
        let mut env = self.env.lock().unwrap();
        env.retain(|(k, _)| k != name);
        env.push((name.to_string(), value.to_string()));
    }

    fn bash(&self, command: &str) -> Command {
        let mut bash = Command::new("bash");
        bash.arg("-c").arg(command).current_dir(&self.work);
        let path = format!("{}:{}", self.bin_dir.display(), std::env::var("PATH").unwrap_or_default());
        bash.env("PATH", path).env("LOGWARDEN_KAFKA_BROKERS", support::brokers()).env("LOGWARDEN_LOG", "warn");
        // scripts/demo.sh and scripts/check-helm.sh take the binary to use.
        bash.env("LOGWARDEN_BIN", BIN);
        for (k, v) in self.env.lock().unwrap().iter() {
            bash.env(k, v);
        }
        bash
    }

    /// Runs `command` to its end; it must exit 0.
    fn run(&self, example: &Example, command: &str) -> Run {
        let output = self.bash(command).stdin(Stdio::null()).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            output.status.success(),
            "README.md:{}: `{}` exited with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            example.line,
            example.text,
            output.status
        );
        Run { example: example.clone(), stdout, stderr }
    }
}

/// A long-running example in the background (rule 3).
struct Background {
    example: Example,
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

fn is_long_running(command: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().filter(|w| !w.contains('=') && !w.starts_with("--log")).collect();
    match words.as_slice() {
        ["scripts/demo.sh", ..] => true,
        ["logwarden", "json", what, ..] | ["logwarden", what, ..] => {
            matches!(*what, "run" | "collector" | "indexer" | "query-api" | "detect")
        }
        _ => false,
    }
}

fn lines_of(reader: impl std::io::Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { return };
            into.lock().unwrap().push(line);
        }
    });
}

impl Background {
    fn start(ctx: &Ctx, example: &Example, command: &str) -> Background {
        let mut bash = ctx.bash(&format!("exec {command}"));
        bash.env("LOGWARDEN_LOG", "info");
        let mut child = bash.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let (stdout, stderr) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
        lines_of(child.stdout.take().unwrap(), stdout.clone());
        lines_of(child.stderr.take().unwrap(), stderr.clone());
        let mut background = Background { example: example.clone(), child, stdout, stderr };
        background.wait_ready(command);
        background
    }

    fn output(&self) -> String {
        format!("stdout:\n{}\nstderr:\n{}", self.stdout.lock().unwrap().join("\n"), self.stderr.lock().unwrap().join("\n"))
    }

    /// The address after `logwarden: WHAT listening on `.
    fn announced(&self, what: &str) -> Option<String> {
        let prefix = format!("logwarden: {what} listening on ");
        self.stdout.lock().unwrap().iter().find_map(|l| l.strip_prefix(&prefix).map(|a| a.trim().to_string()))
    }

    fn wait_ready(&mut self, command: &str) {
        let started = Instant::now();
        let expects_api = command.contains("scripts/demo.sh") || command.contains(" run ") || command.contains("query-api");
        let indexer_only = command.contains(" indexer ");
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("README.md:{}: `{}` exited with {status} before it was ready\n{}", self.example.line, self.example.text, self.output());
            }
            if expects_api {
                if let Some(api) = self.announced("query API") {
                    let ready = reqwest::blocking::get(format!("{api}/readyz")).map(|r| r.status().is_success()).unwrap_or(false);
                    if ready {
                        return;
                    }
                }
            } else if indexer_only {
                if let Some(first) = self.stderr.lock().unwrap().first() {
                    // `--log-format json`: every log line is a JSON object.
                    let parsed: Result<Value, _> = serde_json::from_str(first);
                    assert!(parsed.map(|v| v.is_object()).unwrap_or(false), "README.md:{}: a log line that is not JSON: {first}", self.example.line);
                    return;
                }
            } else {
                // A collector: every listener it was given is announced.
                let wanted = command.matches("--syslog ").count() + command.matches("--http-ingest ").count();
                let announced = self.stdout.lock().unwrap().iter().filter(|l| l.contains(" listening on ")).count();
                if announced >= wanted {
                    return;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "README.md:{}: `{}` not ready\n{}",
                self.example.line,
                self.example.text,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGTERM; it must exit 0.
    fn stop(mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            status.success(),
            "README.md:{}: `{}` did not stop cleanly on SIGTERM: {status}\n{}",
            self.example.line,
            self.example.text,
            self.output()
        );
    }
}

/// A scratch checkout: the repository's top-level entries linked in; the
/// directory holding it comes first (removed when dropped).
fn scratch() -> (support::TempDir, PathBuf) {
    let root = support::temp_dir("readme");
    let work = root.join("logwarden");
    std::fs::create_dir_all(&work).unwrap();
    for entry in std::fs::read_dir(REPO).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if ["target", "data", "demo", ".git"].iter().any(|n| name == *n) {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), work.join(&name)).unwrap();
    }
    std::os::unix::fs::symlink(Path::new(REPO).join("../shared"), root.join("shared")).unwrap();
    (root, work)
}

fn static_check(start: &str) {
    let repo = Path::new(REPO);
    match start {
        "scripts/test.sh" | "scripts/ui-test.sh" => {
            let status = Command::new("bash").arg("-n").arg(repo.join(start)).status().unwrap();
            assert!(status.success(), "{start} does not parse");
            let ci = std::fs::read_to_string(repo.join(".ci/run")).unwrap();
            let test = std::fs::read_to_string(repo.join("scripts/test.sh")).unwrap();
            assert!(ci.contains("scripts/test.sh") && test.contains("scripts/ui-test.sh"), "CI runs scripts/test.sh, which runs scripts/ui-test.sh");
        }
        // The chart reads the signing key from the Secret the README
        // creates; scripts/check-helm.sh (run below, and by CI) renders
        // and validates the chart with values-production.yaml.
        "kubectl " | "helm upgrade --install" => {
            let chart = repo.join("deploy/helm/logwarden");
            assert!(chart.join("values-production.yaml").is_file());
            let values = std::fs::read_to_string(chart.join("values-production.yaml")).unwrap()
                + &std::fs::read_to_string(chart.join("values.yaml")).unwrap();
            assert!(values.contains("logwarden-signing") || values.contains("existingSecret"), "the chart names the signing key's Secret");
            let check = std::fs::read_to_string(repo.join("scripts/check-helm.sh")).unwrap();
            assert!(check.contains("values-") && check.contains("helm template"), "check-helm.sh renders every values file");
            let values = std::fs::read_to_string(chart.join("values-production.yaml")).unwrap();
            match production_objects_created(&values, &readme()) {
                Ok(checked) => assert!(checked >= 8, "found {checked} of the Secrets and ConfigMaps values-production.yaml names"),
                Err(missing) => panic!("{missing}"),
            }
        }
        other => panic!("no static check for {other}"),
    }
}

/// Checks that every Secret and ConfigMap `values` names (the values of
/// `existingSecret`, `existingPublicKeyConfigMap`, `existingConfigMap`,
/// `secretName`, and a hook's `{name: …, key: …}`) is made by a
/// `kubectl -n logwarden create` line of `readme`, a hook's header secret
/// under its key; says how many it checked.
fn production_objects_created(values: &str, readme: &str) -> Result<usize, String> {
    let creates: Vec<&str> = readme.lines().filter(|l| l.starts_with("kubectl -n logwarden create ")).collect();
    let named = regex::Regex::new(r"(?:existingSecret|existingPublicKeyConfigMap|existingConfigMap|secretName): *([a-z0-9.-]+)").unwrap();
    let hook = regex::Regex::new(r"\{name: *([a-z0-9.-]+), *key: *([A-Za-z0-9._-]+)\}").unwrap();
    let mut names: Vec<(String, Option<String>)> = named.captures_iter(values).map(|c| (c[1].to_string(), None)).collect();
    names.extend(hook.captures_iter(values).map(|c| (c[1].to_string(), Some(c[2].to_string()))));
    for (name, key) in &names {
        let Some(line) = creates.iter().find(|l| l.contains(&format!(" {name} "))) else {
            return Err(format!("no README line creates `{name}`"));
        };
        if let Some(key) = key {
            if !line.contains(&format!("{key}=")) {
                return Err(format!("README's `{name}` lacks the key `{key}`: {line}"));
            }
        }
    }
    Ok(names.len())
}

#[test]
fn production_objects_are_told_missing() {
    let values = "auth:\n  existingSecret: lw-auth\nhooks:\n  - headersFromSecrets:\n      Authorization: {name: oncall, key: authorization}\n";
    let readme = "kubectl -n logwarden create secret generic lw-auth --from-file=a\n\
                  kubectl -n logwarden create secret generic oncall --from-literal=authorization=x\n";
    assert_eq!(production_objects_created(values, readme), Ok(2));
    let wrong_key = production_objects_created(values, &readme.replace("literal=authorization", "literal=token"));
    assert!(wrong_key.unwrap_err().starts_with("README's `oncall` lacks the key `authorization`"));
    assert_eq!(production_objects_created(values, &readme.replace(" lw-auth ", " other ")), Err("no README line creates `lw-auth`".into()));
}

#[test]
fn every_readme_example_runs_as_shown() {
    let readme = readme();
    let all = examples(&readme);
    assert!(all.len() > 30, "README examples found: {}", all.len());
    let at = readme.find("\nPlaceholders:").expect("README.md has its `Placeholders:` sentence");
    let placeholders = &readme[at..at + readme[at + 1..].find("\n\n").unwrap()].replace('\n', " ");
    for name in ["`prod.toml`", "`KEY`", "`events.ndjson`", "`$AUDITOR_KEY`", "`https://logs:8080`", "`pinned.pub.pem`", "finding id"] {
        assert!(placeholders.contains(name), "README's Placeholders sentence names {name}");
    }
    for (start, _) in NOT_RUN {
        assert!(all.iter().any(|e| e.text.starts_with(start)), "NOT_RUN names `{start}`, which README no longer shows");
    }
    for (start, _) in CHECKS {
        assert!(all.iter().any(|e| e.text.starts_with(start)), "CHECKS names `{start}`, which README no longer shows");
    }

    let (_root, work) = scratch();
    let bin_dir = Path::new(BIN).parent().unwrap().to_path_buf();
    let ctx = Ctx { work: work.clone(), bin_dir, env: Mutex::new(Vec::new()), api: Mutex::new(None) };
    std::fs::copy(Path::new(REPO).join("config/logwarden.example.toml"), work.join("prod.toml")).unwrap();
    std::fs::write(work.join("events.ndjson"), "{\"message\":\"hello from the README\"}\nplain line from the README\n").unwrap();

    // The README's webhook address, `http://127.0.0.1:9095/alerts`.
    let webhook = support::receiver::Receiver::start_on("127.0.0.1:9095");
    let mut ran = 0;
    let mut not_run = 0;
    let blocks: Vec<usize> = {
        let mut b: Vec<usize> = all.iter().map(|e| e.block).collect();
        b.dedup();
        b
    };
    // The inline `curl` runs while block 1's demo runs.
    let inline = all.iter().find(|e| e.block == 0).unwrap().clone();
    for block in blocks.into_iter().filter(|b| *b > 0) {
        let examples: Vec<&Example> = all.iter().filter(|e| e.block == block).collect();
        let fixture = if examples.iter().any(|e| e.text.contains("https://logs:8080")) { Some(start_fixture_api(&ctx)) } else { None };
        let mut background: Option<Background> = None;
        for example in examples {
            if let Some((start, why)) = NOT_RUN.iter().find(|(s, _)| example.text.starts_with(s)) {
                eprintln!("README.md:{}: not run ({why}): {}", example.line, example.text);
                static_check(start);
                not_run += 1;
                continue;
            }
            let command = runnable(example, &ctx);
            if is_long_running(&command) {
                if let Some(running) = background.take() {
                    running.stop();
                }
                eprintln!("README.md:{}: starting {command}", example.line);
                let running = Background::start(&ctx, example, &command);
                if command.contains("--alert-webhook") {
                    check_alerts_delivered(&webhook, example);
                }
                background = Some(running);
                if command.starts_with("scripts/demo.sh") {
                    let command = runnable(&inline, &ctx);
                    wait_for_sshd_failures(&ctx);
                    let run = ctx.run(&inline, &command);
                    check_first_search(&run, &ctx);
                    ran += 1;
                }
                ran += 1;
                continue;
            }
            eprintln!("README.md:{}: {command}", example.line);
            let run = ctx.run(example, &command);
            if let Some((_, check)) = CHECKS.iter().find(|(s, _)| example.text.starts_with(s)) {
                check(&run, &ctx);
            }
            after(&run, &ctx);
            ran += 1;
        }
        if let Some(running) = background.take() {
            running.stop();
        }
        if let Some(api) = fixture {
            api.stop();
            *ctx.api.lock().unwrap() = None;
        }
    }
    assert_eq!(ran + not_run, all.len(), "every example is run or listed in NOT_RUN");
    std::fs::remove_dir_all(work.parent().unwrap()).ok();
}

/// What later examples need from an earlier one.
fn after(run: &Run, ctx: &Ctx) {
    if run.example.text.starts_with("logwarden compliance pin-key") {
        // `pinned.pub.pem` in the examples is the pinned key.
        std::fs::copy(ctx.work.join("data/keys/pinned.pub.pem"), ctx.work.join("pinned.pub.pem")).unwrap();
    }
    if run.example.text.starts_with("LOGWARDEN_KAFKA_INSTANCE=outage KAFKA_PORT=19092 scripts/kafka.sh start") {
        // The private broker is the example's; it goes when shown.
        let stop = ctx.bash("LOGWARDEN_KAFKA_INSTANCE=outage KAFKA_PORT=19092 scripts/kafka.sh stop --wipe").status().unwrap();
        assert!(stop.success(), "stopping the private broker");
    }
}

/// `https://logs:8080`: a query API on prod.toml's data, with an auditor key.
fn start_fixture_api(ctx: &Ctx) -> Background {
    let created = ctx
        .bash(&format!("logwarden keys create --name {} --role auditor --data-dir data", support::unique("readme-auditor")))
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let key = String::from_utf8_lossy(&created.stdout).lines().next().unwrap().trim().to_string();
    ctx.set_env("AUDITOR_KEY", &key);
    let example = Example { line: 0, text: "logwarden query-api --config prod.toml --http-addr 127.0.0.1:0".into(), block: 0 };
    let api = Background::start(ctx, &example, &example.text);
    let address = api.announced("query API").unwrap();
    *ctx.api.lock().unwrap() = Some(address.clone());
    // A finding id of the 2026-11 review, for the 소명 example.
    let review: Value = reqwest::blocking::Client::new()
        .get(format!("{address}/api/v1/compliance/review?month=2026-11"))
        .bearer_auth(&key)
        .send()
        .unwrap()
        .json()
        .unwrap();
    if let Some(id) = review["findings"].as_array().and_then(|f| f.first()).and_then(|f| f["id"].as_str()) {
        ctx.set_env("README_FINDING", id);
    } else {
        ctx.set_env("README_FINDING", "2026-11-3fa9c2d1e0b4a7f1");
    }
    api
}

fn wait_for_sshd_failures(ctx: &Ctx) {
    let started = Instant::now();
    let key_file = ctx.work.join("demo/data/admin.key");
    loop {
        if let Ok(key) = std::fs::read_to_string(&key_file) {
            let answer = reqwest::blocking::Client::new()
                .get("http://127.0.0.1:8080/api/v1/search?q=sshd+AND+failed&limit=0")
                .bearer_auth(key.trim())
                .send()
                .and_then(|r| r.json::<Value>());
            if answer.ok().and_then(|a| a["total"].as_u64()).unwrap_or(0) >= 3 {
                return;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(600), "the demo indexed no three sshd failures");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn check_alerts_delivered(webhook: &support::receiver::Receiver, example: &Example) {
    let bodies = webhook.wait_for(1, Duration::from_secs(600));
    let body = bodies.first().unwrap_or_else(|| panic!("README.md:{}: no alert POSTed to 127.0.0.1:9095", example.line));
    // Alertmanager's webhook payload, version 4.
    assert_eq!(body["version"], "4", "README.md:{}: {body}", example.line);
    assert!(body["alerts"].as_array().is_some_and(|a| !a.is_empty()), "README.md:{}: {body}", example.line);
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("README.md:{}: not JSON ({e}): {}", run.example.line, run.stdout))
}

fn check_first_search(run: &Run, ctx: &Ctx) {
    let answer = json(run);
    assert!(answer["total"].as_u64().unwrap() >= 3, "{answer}");
    let hits = answer["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 3, "{answer}");
    for hit in hits {
        let text = hit.to_string();
        assert!(text.contains("sshd") && text.contains("Failed password"), "{hit}");
    }
    assert!(answer.get("next").is_some(), "{answer}");
    // Without the header: 401.
    let bare = ctx.bash("curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:8080/api/v1/search?q=sshd+AND+failed&limit=3'").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&bare.stdout), "401");
}

fn check_status(run: &Run, _: &Ctx) {
    // Tables: the lag of the indexer group per partition among them.
    for table in ["): reachable", "consumer lag, group logwarden-indexer on logwarden.events", "dead letters"] {
        assert!(run.stdout.contains(table), "README.md:{}: no `{table}` in\n{}", run.example.line, run.stdout);
    }
}

fn check_rules_check(run: &Run, _: &Ctx) {
    let summary = regex::Regex::new(r"\d+ rule\(s\) loaded .*, \d+ unsupported, 0 error\(s\)").unwrap();
    assert!(summary.is_match(&run.stdout) || summary.is_match(&run.stderr), "{}{}", run.stdout, run.stderr);
}

fn check_rules_test(run: &Run, _: &Ctx) {
    // One alert per line: time, rule id, alert id, level, title, group, count.
    let alert = regex::Regex::new(r"^\S+T\S+\s+\S+\s+[0-9a-f]{32}\s+\[\w+\] .+: \d+ events?$").unwrap();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(!lines.is_empty(), "the backtest found no alert in OpenSSH_2k.log");
    for line in lines {
        assert!(alert.is_match(line), "README.md:{}: not an alert line: {line}", run.example.line);
    }
}

fn check_json_report(run: &Run, _: &Ctx) {
    let report = json(run);
    assert!(report["streams"].is_array() || report["streams"].is_object(), "{report}");
}

fn check_review_html(run: &Run, ctx: &Ctx) {
    let page = std::fs::read_to_string(ctx.work.join("review-2026-11.html")).unwrap();
    assert!(page.contains("<html") && page.contains("2026-11"), "README.md:{}", run.example.line);
}

fn check_review_pdf(run: &Run, ctx: &Ctx) {
    let pdf = std::fs::read(ctx.work.join("review-2026-11.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF"), "README.md:{}: not a PDF", run.example.line);
}

fn check_html_page(run: &Run, _: &Ctx) {
    assert!(run.stdout.contains("<html"), "README.md:{}: {}", run.example.line, run.stdout);
}

fn check_review_json(run: &Run, _: &Ctx) {
    let review = json(run);
    assert!(review["findings"].is_array(), "{review}");
}

fn check_finding(run: &Run, ctx: &Ctx) {
    let answer = json(run);
    let id = ctx.env_var("README_FINDING").unwrap();
    if answer.get("error").is_some() {
        // The month has no finding: the answer names the id it looked for.
        assert!(answer["error"]["message"].as_str().unwrap().contains(&id), "{answer}");
    } else {
        assert_eq!(answer["id"], id.as_str(), "{answer}");
        assert_eq!(answer["state"], "explained", "{answer}");
    }
}

fn check_signoff(run: &Run, _: &Ctx) {
    let answer = json(run);
    assert!(answer.get("error").is_none(), "README.md:{}: {answer}", run.example.line);
    assert!(answer.to_string().contains("11월 점검 완료"), "{answer}");
}

fn check_export_tar(_: &Run, ctx: &Ctx) {
    assert!(ctx.work.join("auth-nov.tar").is_file());
}

fn check_bundle(run: &Run, ctx: &Ctx) {
    let out = regex::Regex::new(r"--out (\S+)").unwrap();
    let dir = &out.captures(&run.example.text).unwrap()[1];
    for file in ["statement.json", "export.json", "SHA256SUMS", "VERIFY.md"] {
        assert!(ctx.work.join(dir).join(file).is_file(), "README.md:{}: {dir}/{file}", run.example.line);
    }
}

fn check_bundle_verified(run: &Run, _: &Ctx) {
    assert!(!run.stdout.trim().is_empty(), "README.md:{}: verify said nothing", run.example.line);
}

fn check_key_created(run: &Run, _: &Ctx) {
    let mut lines = run.stdout.lines();
    let key = lines.next().unwrap_or_default();
    assert!(key.len() >= 20 && !key.contains(' '), "README.md:{}: the key first: {}", run.example.line, run.stdout);
    let name = run.example.text.split("--name ").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap_or_default();
    let entry = format!("name = \"{name}\"");
    assert!(run.stdout.contains("[[auth.keys]]") && run.stdout.contains(&entry), "README.md:{}: {entry} in {}", run.example.line, run.stdout);
}

fn check_keys_listed(run: &Run, _: &Ctx) {
    assert!(run.stdout.contains("filebeat") && run.stdout.contains("ingest"), "{}", run.stdout);
}

fn check_ingested(run: &Run, _: &Ctx) {
    let answer = json(run);
    assert!(answer.get("error").is_none(), "README.md:{}: {answer}", run.example.line);
}

fn check_config_ok(run: &Run, _: &Ctx) {
    assert!(run.stdout.starts_with("OK"), "{}", run.stdout);
}

fn check_signing_key(_: &Run, ctx: &Ctx) {
    let pem = std::fs::read_to_string(ctx.work.join("manifest-signing.pem")).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
}

#[test]
fn examples_are_read_by_the_rules() {
    let readme = "x\nOnce the demo runs: `curl -s 'http://h/'`\n```sh\na b   # c\n# d\ne \\\n  f\n```\n```toml\nz\n```\n```sh\ng [--h i] j|k|l\n```\n";
    let found = examples(readme);
    let texts: Vec<&str> = found.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, ["curl -s 'http://h/'", "a b   # c", "e \\\n  f", "g [--h i] j|k|l"]);
    assert_eq!(found.iter().map(|e| e.block).collect::<Vec<_>>(), [0, 1, 1, 2]);
    assert_eq!(without_comment("a '#b' # c"), "a '#b'");
    assert!(is_long_running("logwarden --log-format json indexer --config prod.toml"));
    assert!(is_long_running("logwarden run --config x"));
    assert!(!is_long_running("logwarden rules test --rules rules/"));
}
