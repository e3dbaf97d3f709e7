//! The demo's warehouse floor: two pack stations in SZ1, a barcode (EAN-13) on every product, and a morning's
//! parcels packed through the pack station itself — scanned, verified item by item and weighed with the
//! variance real scales show, one re-rated heavier, one held far off its weight — so the floor's pages and the
//! order timelines have something to show. Labels go to the browser as PDF (no printer in the demo).

use anyhow::{Result, anyhow};
use codflow_app::App;
use codflow_app::floor::StationInput;
use codflow_domain::floor::{Barcode, Measure, ReadingSource};
use codflow_domain::{Actor, OrderStatus, Sku, StationCode};
use codflow_store::orders::OrderFilter;

/// What the demo's morning at the pack stations came to.
pub struct FloorSeed {
    pub packed: usize,
    pub held: usize,
    pub rerated: usize,
}

/// Two pack stations in SZ1 and an EAN-13 on every product; a floor that has stations is left as it is (the
/// demo calls this before its simulated past and again for its morning).
pub async fn set_up(app: &App) -> Result<()> {
    let by = Actor::Worker("demo".into());
    let floor = app.floor();
    let e = |e: codflow_app::Error| anyhow!("{e}");
    if !floor.stations().await.map_err(e)?.is_empty() {
        return Ok(());
    }
    for (i, code) in stations()?.iter().enumerate() {
        let input = StationInput { name: format!("Pack {}", i + 1), warehouse: "SZ1".into(), printer: None };
        floor.put_station(code, input, by.clone()).await.map_err(e)?;
    }
    let (products, _) = app.catalogue().products(500, None).await.map_err(e)?;
    for (i, p) in products.iter().enumerate() {
        let code = Barcode::gtin(&format!("69012345{i:04}"))?;
        floor.set_barcodes(&p.sku, &[code.to_string()], by.clone()).await.map_err(e)?;
    }
    Ok(())
}

fn stations() -> Result<[StationCode; 2]> {
    Ok([StationCode::parse("PS1")?, StationCode::parse("PS2")?])
}

/// The demo's morning: the newest `parcels` allocated orders packed at the stations, one held.
pub async fn seed_floor(app: &App, parcels: usize) -> Result<FloorSeed> {
    set_up(app).await?;
    // The newest: the morning's orders, which the carrier books now (older ones may be stuck for a reason).
    let filter = OrderFilter { status: Some(OrderStatus::Allocated), oldest_first: false, ..Default::default() };
    let (orders, _) = app.intake().orders(filter, parcels as i64, None).await.map_err(|e| anyhow!("{e}"))?;
    let ids: Vec<_> = orders.into_iter().map(|o| o.id).collect();
    pack(app, &ids, 0, true).await
}

/// Packs these orders at the two stations as packers do: opened by scan, every unit scanned, weighed with the
/// variance real scales show. One parcel in eight comes in 20 % heavier (a bigger box: re-rated, perhaps
/// moved); the seventh of a run (`n` counted from `first`) far too heavy (the wrong item packed): held, and
/// released by the supervisor at once unless `keep_held` (the simulation's parcels are already travelling).
pub async fn pack(app: &App, orders: &[codflow_domain::OrderId], first: usize, keep_held: bool) -> Result<FloorSeed> {
    let by = Actor::Worker("demo".into());
    let floor = app.floor();
    let e = |e: codflow_app::Error| anyhow!("{e}");
    let stations = stations()?;
    let mut out = FloorSeed { packed: 0, held: 0, rerated: 0 };
    for (i, id) in orders.iter().enumerate() {
        let n = first + i;
        let Ok(o) = app.intake().order(id).await else { continue };
        let station = &stations[n % 2];
        let opened = floor.scan(station, o.id.as_str(), None, by.clone()).await.map_err(e)?;
        let Some(pack) = opened.pack else { continue };
        let mut expected = 20;
        for l in &o.lines {
            let p = app.catalogue().product(&Sku::parse(l.sku.as_str())?).await.map_err(e)?;
            expected += p.unit_weight_g * l.quantity;
            let codes = floor.barcodes(&p.sku).await.map_err(e)?;
            let code = codes.first().map_or_else(|| p.sku.to_string(), |c| c.to_string());
            for _ in 0..l.quantity {
                floor.scan(station, &code, Some(&pack.pack.id), by.clone()).await.map_err(e)?;
            }
        }
        let permille = match n % 40 {
            6 => 2_500,
            k if k % 8 == 3 => 1_200,
            _ => 985 + (n as i64 * 7) % 30,
        };
        let weight = (expected * permille / 1_000).max(1);
        let dims = [Some(15 + (n as i64 % 5)), Some(11), Some(4 + (n as i64 % 3))];
        let m = Measure::parse(weight, dims)?;
        let w = match floor.weigh(&pack.pack.id, m, ReadingSource::Scale, by.clone()).await {
            Ok(w) => w,
            // A parcel that changed meanwhile (the carrier moved it on) is left as it is.
            Err(codflow_app::Error::Conflict { .. }) => continue,
            Err(err) => return Err(e(err)),
        };
        match w.event {
            "intercepted" => {
                out.held += 1;
                if !keep_held {
                    floor.release(&pack.pack.id, by.clone()).await.map_err(e)?;
                }
            }
            "rerated" | "rebooked" => {
                out.rerated += 1;
                out.packed += 1
            }
            _ => out.packed += 1,
        }
    }
    Ok(out)
}

/// The demo's inbound goods: one supplier shipment received at the dock by scan (a carton short, one item
/// broken), one announced and waiting, and one purchase order placed with nothing shipped yet.
pub async fn seed_inbound(app: &App) -> Result<usize> {
    use codflow_app::floor::{AsnInput, LineInput, PoInput};
    use codflow_domain::inbound::Condition;
    let by = Actor::Worker("demo".into());
    let floor = app.floor();
    let e = |e: codflow_app::Error| anyhow!("{e}");
    let (products, _) = app.catalogue().products(3, None).await.map_err(e)?;
    if products.is_empty() {
        return Ok(0);
    }
    let lines = |n: i64| products.iter().map(|p| LineInput { sku: p.sku.to_string(), quantity: n }).collect::<Vec<_>>();
    let today = app.clock().now().date();
    let po = |number: &str, supplier: &str, days: i64, n: i64| PoInput {
        number: number.into(),
        supplier: supplier.into(),
        warehouse: "SZ1".into(),
        expected_on: Some((today + time::Duration::days(days)).to_string()),
        note: None,
        lines: lines(n),
    };
    floor.create_po(po("PO-DEMO-001", "Yiwu Home Goods Co.", -2, 24), by.clone()).await.map_err(e)?;
    floor.create_po(po("PO-DEMO-002", "Shenzhen Lighting Ltd.", 3, 12), by.clone()).await.map_err(e)?;
    floor.create_po(po("PO-DEMO-003", "Guangzhou Textiles", 10, 40), by.clone()).await.map_err(e)?;
    let asn = |reference: &str, po: &str, tracking: &str| AsnInput {
        reference: reference.into(),
        purchase_order: po.into(),
        tracking: Some(tracking.into()),
        expected_on: None,
        lines: Vec::new(),
    };
    let (received, _) =
        floor.create_asn(asn("ASN-DEMO-1", "PO-DEMO-001", "SF1400392211"), by.clone()).await.map_err(e)?;
    floor.create_asn(asn("ASN-DEMO-2", "PO-DEMO-002", "YT2290117345"), by.clone()).await.map_err(e)?;
    let sz1 = codflow_domain::WarehouseCode::parse("SZ1")?;
    floor.receive_scan(Some(&sz1), None, "ASN-DEMO-1", 1, Condition::Good, by.clone()).await.map_err(e)?;
    for (i, p) in products.iter().enumerate() {
        let codes = floor.barcodes(&p.sku).await.map_err(e)?;
        let code = codes.first().map_or_else(|| p.sku.to_string(), |c| c.to_string());
        // The first SKU arrives a carton (6) short, the second with one broken.
        let good = match i {
            0 => 18,
            1 => 23,
            _ => 24,
        };
        floor
            .receive_scan(Some(&sz1), Some(&received.id), &code, good, Condition::Good, by.clone())
            .await
            .map_err(e)?;
        if i == 1 {
            floor
                .receive_scan(Some(&sz1), Some(&received.id), &code, 1, Condition::Damaged, by.clone())
                .await
                .map_err(e)?;
        }
    }
    let bins = products
        .iter()
        .enumerate()
        .map(|(i, p)| (p.sku.to_string(), format!("R-{:02}-{:02}", 1 + i / 4, 1 + i % 4)))
        .collect();
    floor.close_receipt(&received.id, &bins, by).await.map_err(e)?;
    Ok(3)
}

/// SZ1's boxes and each product's packing size, after the demo's packing so its recorded weighings stand as they
/// were: parcels opened from then on show the box to use.
pub async fn seed_packaging(app: &App) -> Result<usize> {
    use codflow_domain::packaging::{BoxKind, BoxType, PackingAttrs};
    let by = Actor::Worker("demo".into());
    let e = |e: codflow_app::Error| anyhow!("{e}");
    let usd = codflow_domain::Currency::parse("USD")?;
    let warehouse = codflow_domain::WarehouseCode::parse("SZ1")?;
    let boxes = [
        ("ENV-M", BoxKind::PaddedEnvelope, [250, 180, 40], 30, 12, 2_000),
        ("BAG-M", BoxKind::Bag, [350, 250, 100], 25, 8, 3_000),
        ("C-S", BoxKind::Carton, [200, 150, 100], 120, 35, 8_000),
        ("C-T", BoxKind::Carton, [150, 150, 260], 150, 45, 8_000),
        ("C-M", BoxKind::Carton, [300, 220, 160], 200, 55, 15_000),
        ("C-L", BoxKind::Carton, [450, 300, 250], 380, 90, 25_000),
        ("C-XL", BoxKind::Carton, [700, 250, 150], 450, 110, 25_000),
    ];
    for (code, kind, inner_mm, empty_weight_g, cents, max_load_g) in boxes {
        let b = BoxType {
            code: code.into(),
            kind,
            inner_mm,
            empty_weight_g,
            cost: codflow_domain::Money::new(cents, usd),
            max_load_g,
        };
        app.fulfilment().put_box(&warehouse, b, by.clone()).await.map_err(e)?;
    }
    // Sizes by kind of goods: (dims, fragile, keep upright, can be bagged).
    let size = |sku: &str| -> ([i64; 3], bool, bool, bool) {
        match sku.split('-').next().unwrap_or("") {
            "ABAY" | "HIJB" => ([300, 220, 40], false, false, true),
            "SHOE" => ([320, 200, 120], false, false, false),
            "SUNG" | "WALL" => ([160, 70, 40], false, false, true),
            "PERF" | "SKIN" => ([60, 60, 120], true, true, false),
            "BTL" => ([90, 90, 250], false, true, false),
            "YOGA" => ([640, 140, 140], false, false, false),
            "TOY" => ([260, 180, 120], false, false, false),
            "CAM" => ([120, 90, 70], true, false, false),
            _ => ([200, 150, 90], false, false, false),
        }
    };
    let (products, _) = app.catalogue().products(500, None).await.map_err(e)?;
    for p in &products {
        let (dims_mm, fragile, keep_upright, can_bag) = size(p.sku.as_str());
        let attrs = PackingAttrs { dims_mm, fragile, keep_upright, can_bag };
        app.fulfilment().put_product_packing(&p.sku, attrs, by.clone()).await.map_err(e)?;
    }
    Ok(boxes.len())
}
