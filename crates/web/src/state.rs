use codflow_app::App;

use crate::metrics::Metrics;

pub struct AppState {
    pub app: App,
    pub metrics: Metrics,
    pub edge: Edge,
    /// Statements previewed in the console and not yet recorded.
    pub pending: crate::console::Pending,
    /// The finance page's last profit report.
    pub profit: crate::console::ProfitSnapshot,
}

/// How this server meets the outside: where it is reached from and who may read its metrics.
#[derive(Clone, Debug, Default)]
pub struct Edge {
    /// The address people and carriers reach this server at (`--public-url`); an `https://` one makes
    /// the console's cookies `Secure`.
    pub public_url: Option<String>,
    /// A bearer token that may read `/metrics` besides the API tokens (`--metrics-token`).
    pub metrics_token: Option<String>,
}

impl Edge {
    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
    }
}
