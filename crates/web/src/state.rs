use codflow_app::App;

use crate::metrics::Metrics;

pub struct AppState {
    pub app: App,
    pub metrics: Metrics,
}
