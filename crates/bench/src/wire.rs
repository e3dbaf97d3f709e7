//! A lean HTTP/1.1 client for the hot-path benchmarks: one kept-alive connection per simulated client,
//! requests written as prepared bytes, responses read by their `Content-Length`. With a general client
//! (`reqwest`) the driver took about 22 µs of CPU per request on this 2-core machine, close to the
//! server's own 36 µs, so the figure measured the driver as much as the server; `wrk` and `oha` are lean
//! for the same reason. Everything else in the bench keeps `reqwest`.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, bail, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{closed_loop, cpu_ms};

/// A response head is refused beyond this, a body beyond `MAX_BODY`: a bench never expects more.
const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 4 * 1024 * 1024;

/// `POST path` with a JSON body and a bearer token, as the bytes that go on the wire.
pub fn post_json(host: &str, path: &str, token: &str, body: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

/// One kept-alive connection; a response's bytes stay in `buf` until the next call.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// `addr` as `host:port`.
    pub async fn open(addr: &str) -> Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, buf: Vec::with_capacity(8 * 1024) })
    }

    /// Sends a prepared request and reads its whole response: the status and the body.
    pub async fn call(&mut self, request: &[u8]) -> Result<(u16, &[u8])> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        let head = loop {
            if let Some(head) = parse_head(&self.buf)? {
                break head;
            }
            ensure!(self.buf.len() < MAX_HEAD, "a response head over {MAX_HEAD} bytes");
            self.fill().await?;
        };
        let end = head.len + head.content_length;
        while self.buf.len() < end {
            self.fill().await?;
        }
        ensure!(self.buf.len() == end, "bytes after the response: the server answered more than asked");
        Ok((head.status, &self.buf[head.len..end]))
    }

    async fn fill(&mut self) -> Result<()> {
        let len = self.buf.len();
        self.buf.resize(len + 8 * 1024, 0);
        let n = self.stream.read(&mut self.buf[len..]).await?;
        self.buf.truncate(len + n);
        ensure!(n > 0, "the server closed the connection");
        Ok(())
    }
}

/// What a closed-loop run over `drive` saw: latencies (µs, sorted) of the calls answered with the expected
/// status, how many were not, the seconds it took and the CPU each side spent per successful call.
pub struct Run {
    pub latencies: Vec<u64>,
    pub failures: u64,
    pub seconds: f64,
    /// CPU µs per successful call of the server (`pid`) and of this driver, as text (`?` when unknown).
    pub cpu_per_call: (String, String),
}

/// `concurrency` clients, each on a kept-alive connection opened before the clock starts, send
/// `request(client, i)` for `seconds` and count the answers with status `expect`. The load runs on one thread
/// of its own, as `wrk -t1` does: the driver's clients never wake each other across threads, so it spends
/// less of the machine the server shares with it.
pub fn drive<F, B>(
    addr: &str,
    pid: Option<u32>,
    concurrency: usize,
    seconds: u64,
    expect: u16,
    request: F,
) -> Result<Run>
where
    F: Fn(usize, usize) -> B + Send + Sync + 'static,
    B: AsRef<[u8]> + Send,
{
    let addr = addr.to_owned();
    let request = Arc::new(request);
    let driver = std::thread::spawn(move || -> Result<Run> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        rt.block_on(async move {
            let mut conns = Vec::with_capacity(concurrency);
            for _ in 0..concurrency {
                conns.push(tokio::sync::Mutex::new(Conn::open(&addr).await?));
            }
            let conns = Arc::new(conns);
            let cpu_before = (cpu_ms(pid), cpu_ms(None));
            let started = Instant::now();
            let (latencies, failures) = closed_loop(concurrency, seconds, move |w, i| {
                let (conns, request) = (conns.clone(), request.clone());
                async move {
                    let bytes = request(w, i);
                    let mut conn = conns[w].lock().await;
                    matches!(conn.call(bytes.as_ref()).await, Ok((s, _)) if s == expect)
                }
            })
            .await?;
            let seconds = started.elapsed().as_secs_f64();
            let cpu_after = (cpu_ms(pid), cpu_ms(None));
            let per_call = |before: Option<u64>, after: Option<u64>| match (before, after) {
                (Some(b), Some(a)) if !latencies.is_empty() => {
                    format!("{:.1}", (a - b) as f64 * 1000.0 / latencies.len() as f64)
                }
                _ => "?".to_owned(),
            };
            let cpu_per_call = (per_call(cpu_before.0, cpu_after.0), per_call(cpu_before.1, cpu_after.1));
            Ok(Run { latencies, failures, seconds, cpu_per_call })
        })
    });
    driver.join().map_err(|_| anyhow::anyhow!("the load driver's thread panicked"))?
}

#[derive(Debug, PartialEq, Eq)]
struct Head {
    status: u16,
    /// Bytes of the head, its blank line included.
    len: usize,
    content_length: usize,
}

/// The head of a response once `buf` holds all of it (`None` until then). A body must be sized by
/// `Content-Length`: chunked and close-delimited bodies are refused rather than misread.
fn parse_head(buf: &[u8]) -> Result<Option<Head>> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end])?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let (version, code) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    ensure!(version == "HTTP/1.1", "not an HTTP/1.1 status line: {status_line:?}");
    let status: u16 = match code.parse() {
        Ok(s) if (100..600).contains(&s) => s,
        _ => bail!("no status code in {status_line:?}"),
    };
    let mut content_length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            bail!("a header line without a colon: {line:?}");
        };
        if name.eq_ignore_ascii_case("transfer-encoding") {
            bail!("a {value:?} transfer-encoding: only Content-Length bodies are read");
        }
        if name.eq_ignore_ascii_case("content-length") {
            let n: usize = value.trim().parse().map_err(|_| anyhow::anyhow!("content-length {value:?}"))?;
            ensure!(n <= MAX_BODY, "a body of {n} bytes, over {MAX_BODY}");
            content_length = Some(n);
        }
    }
    let Some(content_length) = content_length else {
        bail!("a response without content-length");
    };
    Ok(Some(Head { status, len: end + 4, content_length }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_is_read_once_its_blank_line_has_arrived() {
        let full = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(parse_head(&full[..20]).unwrap(), None);
        let head = parse_head(full).unwrap().unwrap();
        assert_eq!(head, Head { status: 200, len: full.len() - 2, content_length: 2 });
    }

    #[test]
    fn bodies_not_sized_by_content_length_are_refused() {
        for bad in [
            &b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nx: y\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 99999999999\r\n\r\n",
            b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        ] {
            assert!(parse_head(bad).is_err(), "{:?} was read", String::from_utf8_lossy(bad));
        }
    }

    #[tokio::test]
    async fn a_kept_alive_connection_reads_each_response_whole_through_split_packets() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            for body in ["first", "second!"] {
                let mut req = Vec::new();
                while !req.ends_with(b"{}") {
                    let mut buf = [0u8; 1024];
                    let n = s.read(&mut buf).await.unwrap();
                    assert!(n > 0, "the client closed early");
                    req.extend_from_slice(&buf[..n]);
                }
                got.push(String::from_utf8_lossy(&req).into_owned());
                let resp = format!("HTTP/1.1 201 Created\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                let (a, b) = resp.as_bytes().split_at(resp.len() - 3);
                s.write_all(a).await.unwrap();
                s.flush().await.unwrap();
                tokio::task::yield_now().await;
                s.write_all(b).await.unwrap();
            }
            got
        });
        let mut conn = Conn::open(&addr).await.unwrap();
        let req = post_json(&addr, "/x", "t", b"{}");
        let (status, body) = conn.call(&req).await.unwrap();
        assert_eq!((status, body), (201, &b"first"[..]));
        let (status, body) = conn.call(&req).await.unwrap();
        assert_eq!((status, body), (201, &b"second!"[..]));
        let got = server.await.unwrap();
        assert!(got[0].starts_with("POST /x HTTP/1.1\r\n") && got[0].ends_with("content-length: 2\r\n\r\n{}"));
    }
}
