//! The components as child processes of the same binary, so peak RSS and
//! CPU seconds are per component. A child is killed when its handle drops
//! (an error or an interrupt), and gets SIGTERM if the bench itself dies.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Marks the bench as interrupted (ctrl-c); every wait loop then fails,
/// which drops and kills the children.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Fails once the bench was interrupted.
pub fn check_interrupted() -> anyhow::Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    Ok(())
}

/// Resources a process used so far.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Usage {
    /// Peak resident set size (VmHWM), bytes.
    pub peak_rss_bytes: u64,
    /// User + system CPU time, seconds.
    pub cpu_seconds: f64,
}

pub struct Component {
    name: String,
    child: Child,
    /// `host:port` of the query API, for components that serve it.
    pub http: Option<String>,
}

impl Component {
    /// Starts `current_exe ARGS` with its stderr in `log`; when `serves_http`,
    /// waits for the address it prints on stdout.
    pub fn start(
        name: &str,
        args: &[String],
        log: &Path,
        serves_http: bool,
    ) -> anyhow::Result<Component> {
        let exe = std::env::current_exe().context("finding the logwarden binary")?;
        let stderr = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut command = Command::new(&exe);
        command
            .args(args)
            .env("LOGWARDEN_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to send
        // SIGTERM to the child when the thread that spawned it exits.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {} {name}", exe.display()))?;
        let stdout = child.stdout.take().context("child stdout")?;
        let (tx, rx) = mpsc::channel();
        // Drains stdout for the child's whole life so it never blocks on it.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("logwarden: query API listening on http://") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let mut component = Component {
            name: name.to_string(),
            child,
            http: None,
        };
        if serves_http {
            let started = Instant::now();
            loop {
                check_interrupted()?;
                match rx.recv_timeout(Duration::from_millis(200)) {
                    Ok(addr) => {
                        component.http = Some(addr);
                        break;
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        component.check_alive(log)?;
                        if started.elapsed() > Duration::from_secs(60) {
                            bail!("{name} did not print its HTTP address within 60 s");
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        component.check_alive(log)?;
                        bail!("{name} closed stdout without an HTTP address");
                    }
                }
            }
        }
        Ok(component)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the tail of the component's log if it exited.
    pub fn check_alive(&mut self, log: &Path) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(20).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "{} exited early ({status}); last lines of {}:\n{}",
                self.name,
                log.display(),
                tail.join("\n")
            );
        }
        Ok(())
    }

    pub fn usage(&self) -> anyhow::Result<Usage> {
        usage_of(self.pid())
    }

    /// SIGTERM, then waits up to `grace` for a clean exit (SIGKILL after).
    pub fn stop(mut self, grace: Duration) -> anyhow::Result<()> {
        // SAFETY: plain kill(2) on our own child's pid, still unreaped.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let started = Instant::now();
        while started.elapsed() < grace {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    eprintln!("bench: {} exited with {status} after SIGTERM", self.name);
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "bench: {} did not stop within {grace:?}; killing it",
            self.name
        );
        Ok(())
    }
}

impl Drop for Component {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Peak RSS and CPU seconds of a live process, from `/proc/PID`.
pub fn usage_of(pid: u32) -> anyhow::Result<Usage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let peak_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .context("no VmHWM in /proc status")?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    Ok(Usage {
        peak_rss_bytes: peak_kib * 1024,
        cpu_seconds: cpu_seconds_from_stat(&stat)?,
    })
}

/// A live process's CPU seconds by the threads that spent them: the
/// indexer's consumer threads (named `indexer-N`), librdkafka's (`rdk:`),
/// and the rest of `total` (the process's own figure): threads under other
/// names and every thread that ended. tantivy ends its indexing threads at
/// each commit and starts new ones, and a segment's doc store compressor
/// ends with the segment, so most of tantivy's CPU is in the rest. A
/// thread takes its creator's name until it sets its own: an unnamed
/// thread started from a consumer would count as one (none is).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ThreadCpu {
    pub consumers: f64,
    pub librdkafka: f64,
    pub rest: f64,
}

/// `pid`'s threads' CPU seconds by kind ([`ThreadCpu`]); `total` is the
/// process's, read just before.
pub fn thread_cpu_of(pid: u32, total: f64) -> anyhow::Result<ThreadCpu> {
    let tasks = format!("/proc/{pid}/task");
    let mut cpu = ThreadCpu::default();
    for task in std::fs::read_dir(&tasks).with_context(|| format!("reading {tasks}"))? {
        // A thread may end between the listing and the read.
        let task = task.with_context(|| format!("listing {tasks}"))?;
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let name = stat.find('(').zip(stat.rfind(')')).and_then(|(open, close)| stat.get(open + 1..close));
        let seconds = cpu_seconds_from_stat(&stat)?;
        match name {
            Some(name) if name.starts_with("indexer-") => cpu.consumers += seconds,
            Some(name) if name.starts_with("rdk:") => cpu.librdkafka += seconds,
            _ => {}
        }
    }
    cpu.rest = (total - cpu.consumers - cpu.librdkafka).max(0.0);
    Ok(cpu)
}

/// utime + stime (fields 14 and 15) in seconds; the command name (field 2)
/// may hold spaces, so fields are counted after its closing parenthesis.
fn cpu_seconds_from_stat(stat: &str) -> anyhow::Result<f64> {
    let after = stat.rfind(')').context("malformed /proc stat")?;
    let fields: Vec<&str> = stat[after + 1..].split_whitespace().collect();
    // fields[0] is field 3 (state): utime is field 14 -> index 11.
    let utime: u64 = fields.get(11).context("no utime")?.parse()?;
    let stime: u64 = fields.get(12).context("no stime")?.parse()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok((utime + stime) as f64 / ticks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_usage() {
        let before = usage_of(std::process::id()).unwrap();
        assert!(before.peak_rss_bytes > 0);
        // Burn CPU (a clock tick is 10 ms): what is read must grow with it.
        let mut x = 0u64;
        for i in 0..200_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let after = usage_of(std::process::id()).unwrap();
        assert!(after.cpu_seconds > before.cpu_seconds, "{} then {} CPU seconds", before.cpu_seconds, after.cpu_seconds);
    }

    /// A thread named as the indexer names its consumers is counted as
    /// one, with the CPU it burned (its own clock, give or take a tick of
    /// /proc), and no thread here is counted as librdkafka's.
    #[test]
    fn splits_cpu_by_thread_name() {
        let (burned, wait) = std::sync::mpsc::channel();
        let (release, done) = std::sync::mpsc::channel::<()>();
        let burner = std::thread::Builder::new()
            .name("indexer-9".into())
            .spawn(move || {
                let mut x = 0u64;
                for i in 0..200_000_000u64 {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
                }
                burned.send(crate::tantivy_baseline::cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID).unwrap()).unwrap();
                // Alive until read: an ended thread's CPU is the rest's.
                let _ = done.recv();
            })
            .unwrap();
        let own = wait.recv().unwrap();
        let total = usage_of(std::process::id()).unwrap().cpu_seconds;
        let cpu = thread_cpu_of(std::process::id(), total).unwrap();
        release.send(()).unwrap();
        burner.join().unwrap();
        let tick = 1.0 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        assert!((cpu.consumers - own).abs() <= 3.0 * tick, "{cpu:?}: the thread's own clock says {own} s");
        assert_eq!(cpu.librdkafka, 0.0, "no thread here is librdkafka's: {cpu:?}");
    }

    #[test]
    fn stat_with_spaces_in_name() {
        let stat = "42 (a b) S 1 1 1 0 -1 0 0 0 0 0 250 50 0 0 20 0 1 0 0 0 0";
        let seconds = cpu_seconds_from_stat(stat).unwrap();
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        assert!((seconds - 300.0 / ticks).abs() < 1e-9);
    }
}
