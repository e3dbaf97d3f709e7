//! Local receivers that stand in for a mail relay and an SMS provider: a small SMTP server (RFC 5321, the
//! commands a client needs to deliver: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and a small HTTP/1.1
//! server. Tests start them to check what codflow really sent over the wire; `serve --demo` starts them so the
//! demo's outbox is delivered somewhere without anything to install. Either can be told to fail the next N
//! deliveries with a temporary error.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One message an SMTP client delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, dot-unstuffed, lines joined with CRLF.
    pub data: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<&str> {
        let head = self.data.split("\r\n\r\n").next()?;
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// One HTTP request the sink received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// A field of an `application/x-www-form-urlencoded` body.
    pub fn form(&self, name: &str) -> Option<String> {
        self.body.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (percent_decode(k) == name).then(|| percent_decode(v))
        })
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex =
            b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(v)) => {
                out.push(v);
                i += 2;
            }
            (c, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A scripted answer: status line (`200 OK`), extra header lines, JSON body.
type Scripted = (String, Vec<(String, String)>, String);

struct Shared<T> {
    received: Mutex<Vec<T>>,
    fail_next: AtomicUsize,
    /// Answers to give, in order, before falling back to the default one.
    scripted: Mutex<std::collections::VecDeque<Scripted>>,
}

impl<T> Shared<T> {
    fn new() -> Arc<Self> {
        Arc::new(Shared {
            received: Mutex::new(Vec::new()),
            fail_next: AtomicUsize::new(0),
            scripted: Mutex::default(),
        })
    }
    fn should_fail(&self) -> bool {
        self.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }
    fn push(&self, item: T) {
        if let Ok(mut r) = self.received.lock() {
            r.push(item);
        }
    }
}

/// Listens on 127.0.0.1 on a free port and runs `session` for each connection.
async fn listen<T, F, Fut>(session: F) -> std::io::Result<(SocketAddr, Arc<Shared<T>>, JoinHandle<()>)>
where
    T: Send + 'static,
    F: Fn(TcpStream, Arc<Shared<T>>) -> Fut + Send + 'static,
    Fut: Future<Output = std::io::Result<()>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shared = Shared::new();
    let s = shared.clone();
    let task = tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let session = session(conn, s.clone());
            tokio::spawn(async move {
                if let Err(e) = session.await {
                    tracing::debug!(error = %e, "sink connection ended");
                }
            });
        }
    });
    Ok((addr, shared, task))
}

pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared<Mail>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> std::io::Result<SmtpSink> {
        let (addr, shared, task) = listen(|conn, s| async move { smtp_session(conn, &s).await }).await?;
        Ok(SmtpSink { addr, shared, task })
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn messages(&self) -> Vec<Mail> {
        self.shared.received.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// The next `n` messages are refused with a temporary error (451) at the end of DATA.
    pub fn fail_next(&self, n: usize) {
        self.shared.fail_next.store(n, Ordering::SeqCst);
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn address(arg: &str) -> String {
    let a = arg.split_once(':').map(|x| x.1).unwrap_or("");
    let a = a.trim();
    let a = a.split_whitespace().next().unwrap_or("");
    a.trim_start_matches('<').trim_end_matches('>').to_owned()
}

async fn smtp_session(conn: TcpStream, shared: &Shared<Mail>) -> std::io::Result<()> {
    let (r, mut w) = conn.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 codflow-sink ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end();
        let verb = cmd.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-codflow-sink\r\n250 8BITMIME\r\n",
            "HELO" | "NOOP" => b"250 OK\r\n",
            "MAIL" => {
                from = address(cmd);
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(address(cmd));
                b"250 OK\r\n"
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "DATA" => {
                w.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = Vec::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    let l = line.trim_end_matches(['\r', '\n']);
                    if l == "." {
                        break;
                    }
                    data.push(l.strip_prefix('.').filter(|_| l.starts_with("..")).unwrap_or(l).to_owned());
                }
                if shared.should_fail() {
                    b"451 4.3.0 sink told to fail; try again later\r\n"
                } else {
                    shared.push(Mail { from: from.clone(), to: to.clone(), data: data.join("\r\n") });
                    b"250 OK queued\r\n"
                }
            }
            "QUIT" => {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 command not implemented\r\n",
        };
        w.write_all(reply).await?;
    }
}

pub struct HttpSink {
    addr: SocketAddr,
    shared: Arc<Shared<Request>>,
    task: JoinHandle<()>,
}

impl HttpSink {
    pub async fn start() -> std::io::Result<HttpSink> {
        let (addr, shared, task) = listen(|conn, s| async move { http_exchange(conn, &s).await }).await?;
        Ok(HttpSink { addr, shared, task })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.received.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// The next `n` requests are answered 503.
    pub fn fail_next(&self, n: usize) {
        self.shared.fail_next.store(n, Ordering::SeqCst);
    }

    /// Answers the next request with this status line (`200 OK`) and body, after earlier scripted ones;
    /// the request is recorded as usual. This is how a test stands in for a third party's documented replies.
    pub fn reply_next(&self, status: &str, body: &str) {
        self.reply_next_with(status, &[], body);
    }

    /// As [`HttpSink::reply_next`], with extra response headers (`Retry-After` on a 429, say).
    pub fn reply_next_with(&self, status: &str, headers: &[(&str, &str)], body: &str) {
        if let Ok(mut q) = self.shared.scripted.lock() {
            let headers = headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            q.push_back((status.to_owned(), headers, body.to_owned()));
        }
    }

    /// How many scripted answers are still to be given.
    pub fn scripted_left(&self) -> usize {
        self.shared.scripted.lock().map(|q| q.len()).unwrap_or(0)
    }
}

impl Drop for HttpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const MAX_HTTP_BODY: usize = 1 << 20;

async fn http_exchange(conn: TcpStream, shared: &Shared<Request>) -> std::io::Result<()> {
    let (r, mut w) = conn.into_split();
    let mut r = BufReader::new(r);
    let mut line = String::new();
    r.read_line(&mut line).await?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_HTTP_BODY);
    let mut body = vec![0; len];
    r.read_exact(&mut body).await?;
    let (status, extra, reply) = if shared.should_fail() {
        ("503 Service Unavailable".to_owned(), Vec::new(), r#"{"code":20503,"message":"sink told to fail"}"#.to_owned())
    } else {
        let n = shared.received.lock().map(|v| v.len()).unwrap_or(0);
        shared.push(Request { method, path, headers, body: String::from_utf8_lossy(&body).into_owned() });
        let scripted = shared.scripted.lock().ok().and_then(|mut q| q.pop_front());
        scripted.unwrap_or_else(|| {
            ("201 Created".to_owned(), Vec::new(), format!(r#"{{"sid":"SM{n:032}","status":"queued"}}"#))
        })
    };
    let extra: String = extra.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        reply.len()
    );
    w.write_all(head.as_bytes()).await?;
    w.write_all(reply.as_bytes()).await?;
    w.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_percent_decoded() {
        let r = Request {
            method: "POST".into(),
            path: "/".into(),
            headers: vec![],
            body: "To=%2B966501234567&Body=Hello+there%21&Bad=%zz%4".into(),
        };
        assert_eq!(r.form("To").as_deref(), Some("+966501234567"));
        assert_eq!(r.form("Body").as_deref(), Some("Hello there!"));
        assert_eq!(r.form("Bad").as_deref(), Some("%zz%4"));
        assert_eq!(r.form("Missing"), None);
    }
}
