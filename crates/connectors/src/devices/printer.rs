//! Network label printers: ZPL sent as raw bytes to TCP port 9100 (Zebra's "raw port", which most thermal
//! label printers offer), one connection per job. The printer does not answer on this port, so success means
//! the job was accepted whole by the printer's TCP stack within the time allowed.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// How long a printer has to accept the connection and the job.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Why a job did not reach the printer, in words for the station's screen.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("the printer at {0} did not answer within {1} s; is it on and on the network?")]
    Timeout(String, u64),
    #[error("the printer at {0} refused the connection: {1}")]
    Connect(String, String),
    #[error("the printer at {0} dropped the job: {1}")]
    Send(String, String),
    #[error("not a ZPL job: it must start with ^XA and end with ^XZ")]
    NotZpl,
}

/// Sends one ZPL job (one or many labels) to `addr` (`host:port`).
pub async fn send_zpl(addr: &str, zpl: &str, timeout: Duration) -> Result<(), PrintError> {
    let job = zpl.trim();
    if !job.starts_with("^XA") || !job.ends_with("^XZ") {
        return Err(PrintError::NotZpl);
    }
    let secs = timeout.as_secs().max(1);
    let run = async {
        let mut s = TcpStream::connect(addr).await.map_err(|e| PrintError::Connect(addr.into(), e.to_string()))?;
        s.write_all(job.as_bytes()).await.map_err(|e| PrintError::Send(addr.into(), e.to_string()))?;
        s.write_all(b"\n").await.map_err(|e| PrintError::Send(addr.into(), e.to_string()))?;
        s.shutdown().await.map_err(|e| PrintError::Send(addr.into(), e.to_string()))
    };
    tokio::time::timeout(timeout, run).await.map_err(|_| PrintError::Timeout(addr.into(), secs))?
}
