//! `codflow scale-bridge` against a scale that is this test on the other side of a pseudo-terminal, speaking
//! MT-SICS as a Mettler Toledo terminal does: moving readings, a busy answer, line noise, then a stable weight.
//! The bridge posts to a running server with the station's device token; the stable reading lands for the
//! station and the bridge is still running after the noise.

use std::ffi::CStr;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::time::Duration;

use codflow_app::App;
use codflow_app::floor::StationInput;
use codflow_domain::{Actor, StationCode};
use codflow_store::Engine;
use tokio::process::Command;

use crate::{BIN, seeded};

codflow_store::on_both_engines!(the_bridge_reads_an_mt_sics_scale_through_a_pty_and_posts_its_stable_weight);

/// A pseudo-terminal pair: the master (this test, the scale) and the slave's path (the bridge's device).
fn pty() -> (std::fs::File, String) {
    // SAFETY: each call is checked; the master fd is owned by the File returned.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(fd >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(fd), 0);
        assert_eq!(libc::unlockpt(fd), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
        let path = CStr::from_ptr(name.as_ptr()).to_string_lossy().into_owned();
        (std::fs::File::from_raw_fd(fd), path)
    }
}

async fn the_bridge_reads_an_mt_sics_scale_through_a_pty_and_posts_its_stable_weight(engine: Engine) {
    let (_db, store) = seeded(engine, &["LAMP-01"]).await;
    let app = App::new(store.clone());
    let station = StationCode::parse("PS1").unwrap();
    let input = StationInput { name: "Pack 1".into(), warehouse: "SZ1".into(), printer: None };
    app.floor().put_station(&station, input, Actor::Worker("test".into())).await.unwrap();
    let token = app.floor().issue_station_token(&station, Actor::Worker("test".into())).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = app.clone();
    tokio::spawn(async move { codflow_web::serve(listener, server).await });

    let (mut master, slave) = pty();
    let mut bridge = Command::new(BIN)
        .args(["scale-bridge", "--device", &slave, "--protocol", "mt-sics", "--url", &url, "--station", "PS1"])
        .args(["--token", &token, "--every-ms", "100"])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    // The scale: answer each SI with the next reply of the script, the last one forever.
    let scale = std::thread::spawn(move || {
        let script: [&[u8]; 5] = [
            b"S D      0.310 kg\r\n",
            b"S I\r\n",
            b"\x00\xffgarbage that is no reply\r\n",
            b"S D      0.440 kg\r\n",
            b"S S      0.452 kg\r\n",
        ];
        let mut asked = Vec::new();
        let mut buf = [0u8; 64];
        let mut i = 0;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let n = match master.read(&mut buf) {
                Ok(n) => n,
                Err(_) => return asked,
            };
            asked.extend_from_slice(&buf[..n]);
            while let Some(at) = asked.windows(2).position(|w| w == b"\r\n") {
                let request: Vec<u8> = asked.drain(..at + 2).collect();
                if request == b"SI\r\n" {
                    let reply = script[i.min(script.len() - 1)];
                    i += 1;
                    if master.write_all(reply).is_err() {
                        return asked;
                    }
                }
            }
            if i > 40 {
                return asked;
            }
        }
        asked
    });

    let since = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let stable = loop {
        let mut conn = store.read().await.unwrap();
        let r = codflow_store::floor::latest_reading(&mut conn, &station, since).await.unwrap();
        drop(conn);
        if let Some(r) = r.as_ref().filter(|r| r.stable) {
            break r.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no stable reading arrived: {r:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(stable.measure.weight_g, 452);
    assert_eq!(stable.source.as_str(), "scale");
    assert!(bridge.try_wait().unwrap().is_none(), "the bridge keeps running through busy answers and noise");
    bridge.kill().await.unwrap();
    let _ = scale.join();
}
