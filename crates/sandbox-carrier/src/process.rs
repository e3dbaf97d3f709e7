//! The sandbox carrier as a child process of a program whose `sandbox-carrier` command serves it (the
//! `codflow` binary): the demo, the simulation and the load driver book against a carrier in its own
//! process, as they would against a real one.

use std::io;
use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;

/// A sandbox carrier started as a child process; it stops when this is dropped.
pub struct SandboxProcess {
    _child: tokio::process::Child,
    pub url: String,
}

impl SandboxProcess {
    /// Starts `exe sandbox-carrier` on a free loopback port, its clock at `start` (now when None) running
    /// `time_scale` times faster than real time, and waits until it says where it listens.
    pub async fn spawn(
        exe: &Path,
        time_scale: f64,
        model: Option<serde_json::Value>,
        seed: u64,
        start: Option<time::OffsetDateTime>,
    ) -> io::Result<SandboxProcess> {
        let mut args: Vec<String> = ["sandbox-carrier", "--listen", "127.0.0.1:0", "--exit-with-stdin", "--time-scale"]
            .into_iter()
            .map(String::from)
            .collect();
        args.push(time_scale.to_string());
        if let Some(t) = start {
            let at = t.format(&time::format_description::well_known::Rfc3339).map_err(io::Error::other)?;
            args.extend(["--start".into(), at]);
        }
        let model_file = match model {
            Some(m) => {
                let path = std::env::temp_dir().join(format!("codflow-sandbox-model-{}.json", std::process::id()));
                std::fs::write(&path, m.to_string())?;
                args.extend(["--seed".into(), seed.to_string(), "--model".into(), path.to_string_lossy().into_owned()]);
                Some(path)
            }
            None => None,
        };
        let mut child = tokio::process::Command::new(exe)
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot start the sandbox carrier {}: {e}", exe.display()))
            })?;
        let out = child.stdout.take().ok_or_else(|| io::Error::other("no stdout from the sandbox carrier"))?;
        let mut lines = tokio::io::BufReader::new(out).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .map_err(|_| io::Error::other("the sandbox carrier did not start within 20 s"))??
            .ok_or_else(|| io::Error::other("the sandbox carrier exited at start"))?;
        let addr = line.rsplit(' ').next().unwrap_or_default().to_owned();
        // The carrier has read its model by the time it listens.
        if let Some(p) = model_file {
            let _ = std::fs::remove_file(p);
        }
        Ok(SandboxProcess { _child: child, url: format!("http://{addr}") })
    }
}
