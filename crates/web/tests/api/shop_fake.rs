//! A local HTTP server that answers as a shop platform does, from payloads written after the platform's
//! public documentation; it records every request so a test can check what codflow asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

pub struct Req {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: String,
    /// How many requests to this method and path came before this one.
    pub seen: usize,
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(v: serde_json::Value) -> Reply {
        Reply { status: 200, headers: vec![("content-type", "application/json".into())], body: v.to_string() }
    }
    pub fn status(status: u16) -> Reply {
        Reply { status, headers: vec![], body: String::new() }
    }
    pub fn with_body(mut self, body: &str) -> Reply {
        self.body = body.to_owned();
        self
    }
    pub fn header(mut self, k: &'static str, v: impl Into<String>) -> Reply {
        self.headers.push((k, v.into()));
        self
    }
}

type Handler = Arc<dyn Fn(&Req) -> Reply + Send + Sync>;

/// (method, path, query, body) of one request.
pub type Call = (String, String, HashMap<String, String>, String);

pub struct Fake {
    pub url: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Fake {
    pub async fn start(handler: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Fake {
        let handler: Handler = Arc::new(handler);
        let calls: Arc<Mutex<Vec<_>>> = Arc::default();
        let rec = calls.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (handler, rec) = (handler.clone(), rec.clone());
            async move {
                let query: HashMap<String, String> = uri
                    .query()
                    .map(|q| {
                        q.split('&')
                            .filter_map(|kv| {
                                let (k, v) = kv.split_once('=')?;
                                Some((decode(k), decode(v)))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let body = String::from_utf8_lossy(&body).into_owned();
                let seen = {
                    let mut c = rec.lock().unwrap();
                    let seen = c.iter().filter(|(m, p, _, _)| *m == method.as_str() && *p == uri.path()).count();
                    c.push((method.to_string(), uri.path().to_owned(), query.clone(), body.clone()));
                    seen
                };
                let req = Req { method: method.to_string(), path: uri.path().to_owned(), query, headers, body, seen };
                let r = handler(&req);
                let mut resp: Response = (StatusCode::from_u16(r.status).unwrap(), r.body).into_response();
                for (k, v) in r.headers {
                    resp.headers_mut().insert(k, v.parse().unwrap());
                }
                resp
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Fake { url, calls }
    }

    /// (method, path, query, body) of every request so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
