//! Runs the browser driver (`tests/browser/webrtc.js`, Node + playwright-core over CDP) and
//! talks to it in JSON lines: it prints Chromium's PID and the offer, takes the answer, and
//! prints the final `getStats()`. Both the driver and Chromium are killed by PID on drop, so a
//! failing or hanging test leaves nothing behind.
//!
//! Shared with dtls-ffi/tests/webrtc_echo.rs through `#[path]`.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where Debian puts Chromium (`apt-get install chromium`); override with `CHROMIUM`.
pub fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Fails the test, loudly, when Chromium or Node is missing: scripts/test.sh installs both.
pub fn require_browser() {
    let chromium = chromium_path();
    assert!(
        chromium.exists(),
        "Chromium is not installed at {} (apt-get install chromium; scripts/test.sh installs it)",
        chromium.display()
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is not on PATH: the browser driver needs Node.js >= 20"
    );
}

/// Installs the driver's locked dependencies (playwright-core) when they are missing.
fn ensure_driver_deps(dir: &Path) {
    static LOCK: Mutex<()> = Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        return;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .output()
        .expect("run npm ci in tests/browser");
    assert!(
        out.status.success(),
        "npm ci in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One running driver and its browser.
pub struct Browser {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    browser_pid: Option<u32>,
}

impl Browser {
    /// Starts `node webrtc.js` from `driver_dir` (the `tests/browser` folder) with `args`
    /// (`--timeout-ms`, `--min-inbound`, `--hold-ms`).
    pub fn launch(driver_dir: &Path, args: &[&str]) -> Browser {
        require_browser();
        ensure_driver_deps(driver_dir);
        let mut child = Command::new("node")
            .arg(driver_dir.join("webrtc.js"))
            .args(args)
            .env("CHROMIUM", chromium_path())
            .current_dir(driver_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start node");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        Browser {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            browser_pid: None,
        }
    }

    /// The driver's stderr so far (page console, Node errors), for failure messages.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the next message that has `key`; panics on `error`, EOF or timeout.
    fn expect(&mut self, key: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(l) => l,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "browser driver: no {key:?} within {timeout:?}; stderr:\n{}",
                    self.stderr()
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    // Let the stderr reader catch up before reporting.
                    std::thread::sleep(Duration::from_millis(200));
                    panic!(
                        "browser driver exited before {key:?}; stderr:\n{}",
                        self.stderr()
                    )
                }
            };
            let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                continue; // not one of ours
            };
            if let Some(pid) = msg.get("browser_pid").and_then(Value::as_u64) {
                self.browser_pid = Some(pid as u32);
            }
            if let Some(e) = msg.get("error") {
                panic!(
                    "browser driver failed: {}\nstderr:\n{}",
                    e.as_str().unwrap_or_default(),
                    self.stderr()
                );
            }
            if let Some(v) = msg.get(key) {
                return v.clone();
            }
        }
    }

    /// The browser's SDP offer.
    pub fn offer(&mut self, timeout: Duration) -> String {
        self.expect("offer", timeout)
            .as_str()
            .expect("offer is a string")
            .to_string()
    }

    /// Hands the browser our SDP answer.
    pub fn answer(&mut self, sdp: &str) {
        let line = serde_json::json!({ "answer": sdp }).to_string();
        let stdin = self.stdin.as_mut().expect("answer once");
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    /// The final snapshot: `connectionState`, `iceConnectionState`, `stats` (the reports).
    pub fn result(&mut self, timeout: Duration) -> Value {
        let v = self.expect("result", timeout);
        // The driver exits by itself now; give it a moment before Drop kills it.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        v
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A driver that exited 0 has closed Chromium itself (Browser.close, else SIGKILL);
        // only then is Chromium's PID not ours to kill any more (it may be reused).
        let clean = matches!(self.child.try_wait(), Ok(Some(st)) if st.success());
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let (false, Some(pid)) = (clean, self.browser_pid) {
            let _ = Command::new("kill")
                .args(["-9", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The reports of one `type`.
pub fn reports<'a>(result: &'a Value, ty: &str) -> Vec<&'a Value> {
    result["stats"]
        .as_array()
        .map(|a| a.iter().filter(|r| r["type"] == ty).collect())
        .unwrap_or_default()
}

/// The one report of `type` with this `id`.
pub fn report_by_id<'a>(result: &'a Value, id: &str) -> Option<&'a Value> {
    result["stats"].as_array()?.iter().find(|r| r["id"] == id)
}
