//! A small W3C WebDriver client (https://www.w3.org/TR/webdriver2/) driving Debian's headless Chromium
//! through chromedriver, for the console tests: a browser per test, with its own profile and port.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    client: Client,
    base: String,
    session: String,
    _driver: tokio::process::Child,
    profile: PathBuf,
}

pub struct Element(String);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    pub async fn start() -> Browser {
        let driver = std::env::var("CODFLOW_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = free_port();
        // chromedriver and the browsers it starts share a process group of their own, so a test that fails
        // half-way takes the whole browser down with it (see Drop).
        let child = tokio::process::Command::new(&driver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{driver}: {e} (scripts/ensure-chromium installs it)"));
        let client = Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = client.get(format!("{base}/status")).send().await.ok();
            if let Some(r) = ready
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = std::env::temp_dir().join(format!("codflow-chromium-{port}-{}", std::process::id()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": std::env::var("CODFLOW_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-quic", "--window-size=1280,1000", format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let r: Value = client.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session = r["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {r}")).to_owned();
        Browser { client, base, session, _driver: child, profile }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.client.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("webdriver {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_owned()
    }

    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None).await.as_str().unwrap_or_default().to_owned()
    }

    /// The first element matching `css`, waiting for it up to five seconds.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let url = format!("{}/session/{}/element", self.base, self.session);
            let v: Value = self
                .client
                .post(url)
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(id) = v["value"][ELEMENT].as_str() {
                return Element(id.to_owned());
            }
            assert!(Instant::now() < deadline, "no element {css} on {}: {v}", self.url().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn count(&self, css: &str) -> usize {
        let v =
            self.call(reqwest::Method::POST, "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        v.as_array().map(Vec::len).unwrap_or(0)
    }

    pub async fn click(&self, e: &Element) {
        self.call(reqwest::Method::POST, &format!("/element/{}/click", e.0), Some(json!({}))).await;
    }

    pub async fn type_into(&self, e: &Element, text: &str) {
        self.call(reqwest::Method::POST, &format!("/element/{}/value", e.0), Some(json!({"text": text}))).await;
    }

    pub async fn text(&self, e: &Element) -> String {
        self.call(reqwest::Method::GET, &format!("/element/{}/text", e.0), None)
            .await
            .as_str()
            .unwrap_or_default()
            .into()
    }

    pub async fn attr(&self, e: &Element, name: &str) -> Option<String> {
        self.call(reqwest::Method::GET, &format!("/element/{}/attribute/{name}", e.0), None)
            .await
            .as_str()
            .map(str::to_owned)
    }

    /// Waits until the first element matching `css` reads `needle` (the page after a form posted back to
    /// the same address, say), up to five seconds.
    pub async fn wait_for_text(&self, css: &str, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let found = self
                .run("const e = document.querySelector(arguments[0]); return e ? e.innerText : '';", json!([css]))
                .await;
            if found.as_str().is_some_and(|t| t.contains(needle)) {
                return;
            }
            assert!(Instant::now() < deadline, "{css} never read {needle:?}: {found}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `script` in the page (a returned promise is awaited) and gives back its value.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": args}))).await
    }

    /// Waits until the page's URL contains `part`.
    pub async fn wait_for_url(&self, part: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.url().await.contains(part) {
            assert!(Instant::now() < deadline, "never reached {part}: at {}", self.url().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG of the page under `target/tmp/screenshots/` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = decode_base64(b64.as_str().unwrap_or_default());
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    pub async fn log_in(&self, base: &str, username: &str, password: &str) {
        self.goto(&format!("{base}/login")).await;
        self.type_into(&self.find("input[name=username]").await, username).await;
        self.type_into(&self.find("input[name=password]").await, password).await;
        self.click(&self.find("button[type=submit]").await).await;
    }

    pub async fn quit(self) {
        let _ = self.client.delete(format!("{}/session/{}", self.base, self.session)).send().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self._driver.id() {
            let _ = std::process::Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status();
        }
    }
}

fn decode_base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
