//! `codflow scale-bridge`: reads a serial scale and posts its readings to `POST /api/v1/floor/readings` with
//! the station's device token, for pack stations whose browser cannot read the scale (no WebSerial/WebHID).
//! It asks for the weight a few times a second, sends a reading when it changes (or becomes stable), and keeps
//! going through a scale that is busy, unplugged for a moment or sending noise: every problem is logged with
//! its reason, never a crash.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{Context, anyhow};
use codflow_connectors::devices::scale::{Frames, Protocol, ScaleReading};

#[derive(clap::Args, Clone, Debug)]
pub(crate) struct BridgeArgs {
    /// The scale's serial device (`/dev/ttyUSB0`, `/dev/ttyS0`).
    #[arg(long)]
    device: String,
    /// mt-sics (Mettler Toledo) or scp-12 (NCI, Brecknell, Avery Weigh-Tronix).
    #[arg(long, default_value = "mt-sics")]
    protocol: String,
    #[arg(long, default_value_t = 9600)]
    baud: u32,
    /// The codflow server, e.g. http://10.0.0.2:8080.
    #[arg(long, env = "CODFLOW_URL")]
    url: String,
    /// The station's device token (`POST /api/v1/stations/{code}/token`).
    #[arg(long, env = "CODFLOW_DEVICE_TOKEN", hide_env_values = true)]
    token: String,
    /// The station, checked against the token's by the server.
    #[arg(long)]
    station: Option<String>,
    /// How often to ask the scale, in milliseconds.
    #[arg(long, default_value_t = 300)]
    every_ms: u64,
}

/// Raw mode at the protocol's line settings: 8N1 for MT-SICS, 7E1 for SCP-12; reads return after 0.2 s
/// with whatever arrived, so a silent scale never blocks the loop.
fn configure(fd: i32, protocol: Protocol, baud: u32) -> anyhow::Result<()> {
    let speed = match baud {
        1200 => libc::B1200,
        2400 => libc::B2400,
        4800 => libc::B4800,
        9600 => libc::B9600,
        19200 => libc::B19200,
        38400 => libc::B38400,
        57600 => libc::B57600,
        115200 => libc::B115200,
        other => return Err(anyhow!("--baud {other} is not a serial speed (1200 to 115200)")),
    };
    // SAFETY: `t` is fully written by tcgetattr before use, and `fd` is an open descriptor we own.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut t) != 0 {
            return Err(anyhow!("not a serial device: {}", std::io::Error::last_os_error()));
        }
        libc::cfmakeraw(&mut t);
        libc::cfsetispeed(&mut t, speed);
        libc::cfsetospeed(&mut t, speed);
        t.c_cflag &= !(libc::CSIZE | libc::PARENB | libc::PARODD | libc::CSTOPB);
        t.c_cflag |= libc::CLOCAL | libc::CREAD;
        match protocol {
            Protocol::MtSics => t.c_cflag |= libc::CS8,
            Protocol::Scp12 => t.c_cflag |= libc::CS7 | libc::PARENB,
        }
        t.c_cc[libc::VMIN] = 0;
        t.c_cc[libc::VTIME] = 2;
        if libc::tcsetattr(fd, libc::TCSANOW, &t) != 0 {
            return Err(anyhow!("could not set the line: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// Runs until stopped (Ctrl-C) or the device goes away for good.
pub(crate) async fn run(a: BridgeArgs) -> anyhow::Result<()> {
    let protocol =
        Protocol::parse(&a.protocol).ok_or_else(|| anyhow!("--protocol {} is not mt-sics or scp-12", a.protocol))?;
    if a.every_ms < 50 {
        return Err(anyhow!("--every-ms must be at least 50"));
    }
    let mut port = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&a.device)
        .with_context(|| format!("opening {}", a.device))?;
    configure(port.as_raw_fd(), protocol, a.baud)?;
    let endpoint = format!("{}/api/v1/floor/readings", a.url.trim_end_matches('/'));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    println!("scale bridge: {} ({}) → {endpoint}", a.device, a.protocol);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<ScaleReading, String>>(16);
    let every = Duration::from_millis(a.every_ms);
    // The serial side is blocking I/O: its own thread, handing readings over.
    std::thread::spawn(move || {
        let mut frames = Frames::new(protocol);
        let mut buf = [0u8; 256];
        loop {
            if port.write_all(protocol.request()).is_err() {
                let _ = tx.blocking_send(Err("the scale went away (write failed)".into()));
                return;
            }
            let started = std::time::Instant::now();
            while started.elapsed() < every {
                match port.read(&mut buf) {
                    Ok(0) => {}
                    Ok(n) => {
                        for f in frames.push(&buf[..n]) {
                            let r = f
                                .map_err(|e| e.to_string())
                                .and_then(|f| protocol.parse_reply(&f).map_err(|e| e.to_string()));
                            if tx.blocking_send(r).is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.blocking_send(Err(format!("the scale went away: {e}")));
                        return;
                    }
                }
            }
        }
    });
    let mut last: Option<ScaleReading> = None;
    loop {
        let got = tokio::select! {
            r = rx.recv() => r,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let reading = match got {
            None => return Err(anyhow!("the scale stopped answering")),
            Some(Err(why)) if why.contains("went away") => return Err(anyhow!(why)),
            Some(Err(why)) => {
                tracing::warn!(%why, "scale reply not used");
                continue;
            }
            Some(Ok(r)) => r,
        };
        // Nothing new to say, and zero is an empty scale, not a parcel.
        if last == Some(reading) || reading.grams == 0 {
            last = Some(reading);
            continue;
        }
        let body = serde_json::json!({"station": a.station, "weight_g": reading.grams, "stable": reading.stable, "source": "scale"});
        match http.post(&endpoint).bearer_auth(&a.token).json(&body).send().await {
            Ok(r) if r.status().is_success() => last = Some(reading),
            Ok(r) => {
                let status = r.status();
                let text: String = r.text().await.unwrap_or_default().chars().take(300).collect();
                if status == reqwest::StatusCode::UNAUTHORIZED {
                    return Err(anyhow!("the server refused the device token: {text}"));
                }
                tracing::warn!(%status, %text, "reading refused");
            }
            Err(e) => tracing::warn!(error = %e, "could not reach the server; trying again with the next reading"),
        }
    }
}
