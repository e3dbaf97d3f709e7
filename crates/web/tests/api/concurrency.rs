use codflow_store::Engine;
use futures::future::join_all;
use reqwest::StatusCode;

use crate::helpers::{json_of, order, spawn_app};

codflow_store::on_both_engines!(
    two_hundred_concurrent_orders_for_fifty_units_allocate_exactly_fifty,
    the_same_order_posted_ten_times_at_once_is_one_order_with_one_reservation,
    orders_of_two_hundred_buyers_at_once_for_fifty_units_allocate_exactly_fifty,
    a_buyers_orders_posted_at_once_are_each_reviewed_with_the_ones_before_it,
);

/// An order of one unit from a buyer of its own.
fn order_from(i: usize, sku: &str) -> serde_json::Value {
    let mut body = order(&format!("b{i}"), sku, 1);
    body["buyer"]["phone"] = serde_json::json!(format!("+96655{i:07}"));
    body
}

async fn two_hundred_concurrent_orders_for_fifty_units_allocate_exactly_fifty(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 50)]).await;
    let bodies: Vec<_> = (0..200).map(|i| order(&format!("c{i}"), "LAMP-01", 1)).collect();
    let responses = join_all(bodies.iter().map(|b| app.post("/api/v1/orders", b))).await;
    let mut statuses = Vec::new();
    for r in responses {
        statuses.push(json_of(r, StatusCode::CREATED).await["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(statuses.iter().filter(|s| *s == "allocated").count(), 50);
    assert_eq!(statuses.iter().filter(|s| *s == "backordered").count(), 150);
    let stored = app.all_orders().await;
    assert_eq!(stored.len(), 200);
    assert_eq!(stored.iter().filter(|o| o["status"] == "allocated").count(), 50);
    assert_eq!(app.stock("LAMP-01").await, serde_json::json!({"on_hand": 50, "reserved": 50, "available": 0}));
}

async fn the_same_order_posted_ten_times_at_once_is_one_order_with_one_reservation(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 50)]).await;
    let body = order("same", "LAMP-01", 2);
    let responses = join_all((0..10).map(|_| app.post("/api/v1/orders", &body))).await;
    let mut created = 0;
    let mut ids = Vec::new();
    for r in responses {
        let status = r.status();
        assert!(status == StatusCode::CREATED || status == StatusCode::OK, "{status}");
        created += (status == StatusCode::CREATED) as i32;
        ids.push(r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(created, 1);
    ids.dedup();
    assert_eq!(ids.len(), 1, "every answer names the same order");
    assert_eq!(app.all_orders().await.len(), 1);
    assert_eq!(app.stock("LAMP-01").await["reserved"], 2);
}

/// On PostgreSQL orders of different buyers go to different writers, whose stock plans can be a commit
/// behind each other: the reservation still never takes more than is there.
async fn orders_of_two_hundred_buyers_at_once_for_fifty_units_allocate_exactly_fifty(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 50)]).await;
    let bodies: Vec<_> = (0..200).map(|i| order_from(i, "LAMP-01")).collect();
    let responses = join_all(bodies.iter().map(|b| app.post("/api/v1/orders", b))).await;
    let mut allocated = 0;
    for r in responses {
        let o = json_of(r, StatusCode::CREATED).await;
        allocated += (o["status"] == "allocated") as usize;
        assert!(o["status"] == "allocated" || o["status"] == "backordered", "{}", o["status"]);
    }
    assert_eq!(allocated, 50);
    let stored = app.all_orders().await;
    assert_eq!(stored.len(), 200);
    assert_eq!(stored.iter().filter(|o| o["status"] == "allocated").count(), 50);
    assert_eq!(app.stock("LAMP-01").await, serde_json::json!({"on_hand": 50, "reserved": 50, "available": 0}));
}

/// Review reads a buyer's history by phone; however orders are spread over writers, one buyer's orders
/// arriving together are reviewed one after another, each counting those before it.
async fn a_buyers_orders_posted_at_once_are_each_reviewed_with_the_ones_before_it(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 100)]).await;
    app.rule("buyer.orders_24h >= 3", "hold", "a fourth order in a day").await;
    let mut bodies: Vec<_> = (0..30).map(|i| order_from(i, "LAMP-01")).collect();
    let same: Vec<_> = (0..10)
        .map(|i| {
            let mut b = order_from(999, "LAMP-01");
            b["external_id"] = serde_json::json!(format!("repeat-{i}"));
            b
        })
        .collect();
    bodies.extend(same);
    let responses = join_all(bodies.iter().map(|b| app.post("/api/v1/orders", b))).await;
    let mut statuses = Vec::new();
    for r in responses {
        statuses.push(json_of(r, StatusCode::CREATED).await["status"].as_str().unwrap().to_owned());
    }
    let (others, repeats) = statuses.split_at(30);
    assert!(others.iter().all(|s| s == "allocated"), "{others:?}");
    assert_eq!(repeats.iter().filter(|s| *s == "allocated").count(), 3, "{repeats:?}");
    assert_eq!(repeats.iter().filter(|s| *s == "on_hold").count(), 7, "{repeats:?}");
}
