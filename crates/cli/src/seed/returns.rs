//! The demo's returns and claims, from what its simulated month sent back and lost: most returned parcels
//! scanned in at SZ1 and graded (one with a damaged unit written off and a missing one), the rest left
//! expected (the overdue among them get their tasks on the next sweep); the lost parcels' claims opened, one
//! filed, one decided in part and paid.

use anyhow::{Result, anyhow};
use codflow_app::App;
use codflow_app::floor::ReturnFilter;
use codflow_domain::claims::ClaimReason;
use codflow_domain::returns::{GradeInput, ReturnStatus, Route};
use codflow_domain::{Actor, Money, WarehouseCode};
use codflow_store::tracking::TrackedFilter;

fn demo() -> Actor {
    Actor::Worker("demo".into())
}

/// What was seeded: returns graded, held abroad, left expected, claims opened and paid.
pub struct Seeded {
    pub graded: usize,
    /// Refused in Saudi Arabia, kept at the return warehouse in Riyadh, its goods sellable there.
    pub held_abroad: usize,
    pub expected: usize,
    pub claims: usize,
    pub paid: usize,
}

pub async fn seed_returns(app: &App) -> Result<Seeded> {
    let e = |e: codflow_app::Error| anyhow!("{e}");
    let floor = app.floor();
    let sz1 = WarehouseCode::parse("SZ1")?;
    let filter = ReturnFilter { status: Some(ReturnStatus::Expected), ..Default::default() };
    let expected = floor.returns(&filter, None, 500).await.map_err(e)?;
    // Two of every three come back to the shelf; the rest are still on their way.
    let mut graded = 0;
    for (i, r) in expected.iter().enumerate().filter(|(i, _)| i % 3 != 2) {
        let (v, _) = floor.receive_return(&sz1, &r.tracking_number, demo()).await.map_err(e)?;
        let mut lines = Vec::new();
        for (k, l) in v.shipped.iter().enumerate() {
            let mut sellable = l.quantity;
            if graded == 0 && k == 0 && sellable >= 1 {
                // The first parcel opened had a crushed unit (written off) and, if it held two, one missing.
                lines.push(GradeInput {
                    sku: l.sku.to_string(),
                    grade: "damaged".into(),
                    quantity: 1,
                    disposition: Some("write_off".into()),
                    bin: None,
                });
                sellable -= 1;
                if sellable >= 1 {
                    lines.push(GradeInput {
                        sku: l.sku.to_string(),
                        grade: "missing".into(),
                        quantity: 1,
                        ..Default::default()
                    });
                    sellable -= 1;
                }
            }
            if sellable > 0 {
                lines.push(GradeInput {
                    sku: l.sku.to_string(),
                    grade: "sellable".into(),
                    quantity: sellable,
                    ..Default::default()
                });
            }
        }
        let note = (i == 0).then_some("box crushed at one corner");
        floor.grade_return(&v.ret.id, &lines, note, demo()).await.map_err(e)?;
        graded += 1;
    }
    // One parcel refused in Saudi Arabia goes to the return warehouse in Riyadh instead of back to China, when
    // the route's weighing allows (an exchange rate for the goods' cost): its goods are stock there.
    let mut held_abroad = 0;
    if let Some(r) = expected.iter().enumerate().find(|(i, r)| i % 3 == 2 && r.country == "SA").map(|(_, r)| r) {
        let ruh = WarehouseCode::parse("RUH-R")?;
        let w = codflow_app::catalogue::WarehouseInput {
            code: Some(ruh.to_string()),
            name: Some("Riyadh returns".into()),
            country: Some("SA".into()),
        };
        match app.catalogue().create_warehouse(w, demo()).await {
            Ok(_) | Err(codflow_app::Error::Conflict { .. }) => {}
            Err(x) => return Err(e(x)),
        }
        if app.finance().decide_return_route(&r.id, Route::HoldAbroad, demo()).await.is_ok() {
            let (v, _) = floor.receive_return(&ruh, &r.tracking_number, demo()).await.map_err(e)?;
            let lines: Vec<GradeInput> = v
                .shipped
                .iter()
                .map(|l| GradeInput {
                    sku: l.sku.to_string(),
                    grade: "sellable".into(),
                    quantity: l.quantity,
                    bin: Some("R-01".into()),
                    ..Default::default()
                })
                .collect();
            floor.grade_return(&v.ret.id, &lines, Some("held in Riyadh"), demo()).await.map_err(e)?;
            held_abroad = 1;
        }
    }
    let lost = app
        .tracking()
        .tracked_shipments(TrackedFilter { status: Some("lost".into()), ..Default::default() }, 50, None)
        .await
        .map_err(e)?
        .0;
    let finance = app.finance();
    let mut claims = Vec::new();
    for t in &lost {
        match finance.open_claim(&t.shipment_id, ClaimReason::Lost, None, None, demo()).await {
            Ok(c) => claims.push(c),
            // A parcel lost long ago may be past its carrier's window: left without a claim, as in life.
            Err(codflow_app::Error::Conflict { .. }) => {}
            Err(x) => return Err(e(x)),
        }
    }
    let mut paid = 0;
    for (i, c) in claims.iter().enumerate().take(2) {
        finance.file_claim(&c.id, &format!("SBX-CLM-{:04}", i + 1), demo()).await.map_err(e)?;
        if i == 0 {
            let part = Money::new(c.claimed.minor * 7 / 10, c.claimed.currency);
            finance.decide_claim(&c.id, part, Some("capped at the declared value's 70 %"), demo()).await.map_err(e)?;
            finance.claim_paid(&c.id, part, "SBX-CLAIMS-PAYOUT-1", demo()).await.map_err(e)?;
            paid += 1;
        }
    }
    Ok(Seeded { graded, held_abroad, expected: expected.len() - graded - held_abroad, claims: claims.len(), paid })
}
