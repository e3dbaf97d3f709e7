//! Demo data: what a small cross-border seller looks like after a few weeks. Deterministic (a fixed seed),
//! so two demo runs show the same shop.

use codflow_domain::Actor;
use codflow_domain::order::{AddressInput, BuyerInput, LineInput, MoneyInput};
use codflow_domain::{Money, OrderInput};
use time::{Duration, OffsetDateTime};

use codflow_app::catalogue::{ProductInput, StockChange, WarehouseInput};
use codflow_app::{App, Result};

use super::logistics::seed_logistics;

/// Small xorshift generator: demo data needs variety, not cryptographic quality.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

struct Market {
    country: &'static str,
    currency: &'static str,
    /// Local price of one US dollar, in whole local units, used to set believable prices.
    per_usd: i64,
    cities: &'static [(&'static str, &'static str, &'static str)],
    /// A mobile number in national form, with `#` for random digits.
    phone: &'static str,
    names: &'static [&'static str],
    streets: &'static [&'static str],
}

const MARKETS: &[Market] = &[
    Market {
        country: "SA",
        currency: "SAR",
        per_usd: 4,
        cities: &[
            ("Riyadh", "Riyadh Province", "12211"),
            ("Jeddah", "Makkah Province", "21442"),
            ("Dammam", "Eastern Province", "32241"),
            ("Jizan", "Jizan Province", "45142"),
        ],
        phone: "05########",
        names: &["Noura Al-Qahtani", "Faisal Al-Harbi", "Reem Al-Otaibi", "Abdullah Al-Shehri"],
        streets: &["King Fahd Rd", "Prince Sultan St", "Tahlia St"],
    },
    Market {
        country: "AE",
        currency: "AED",
        per_usd: 4,
        cities: &[("Dubai", "Dubai", ""), ("Abu Dhabi", "Abu Dhabi", ""), ("Sharjah", "Sharjah", "")],
        phone: "05########",
        names: &["Mariam Al-Mansoori", "Omar Al-Suwaidi", "Aisha Khan", "Rahul Menon"],
        streets: &["Sheikh Zayed Rd", "Al Wasl Rd", "Corniche St"],
    },
    Market {
        country: "KW",
        currency: "KWD",
        per_usd: 1,
        cities: &[("Kuwait City", "Al Asimah", "13001"), ("Hawalli", "Hawalli", "32001")],
        phone: "9#######",
        names: &["Fatma Al-Sabah", "Yousef Al-Mutairi"],
        streets: &["Gulf Rd", "Tunis St"],
    },
    Market {
        country: "OM",
        currency: "OMR",
        per_usd: 1,
        cities: &[("Muscat", "Muscat", "112"), ("Salalah", "Dhofar", "211")],
        phone: "9#######",
        names: &["Salim Al-Balushi", "Huda Al-Rawahi"],
        streets: &["Sultan Qaboos St", "Al Khuwair St"],
    },
    Market {
        country: "QA",
        currency: "QAR",
        per_usd: 4,
        cities: &[("Doha", "Doha", ""), ("Al Wakrah", "Al Wakrah", "")],
        phone: "5#######",
        names: &["Hamad Al-Thani", "Lulwa Al-Kuwari"],
        streets: &["Salwa Rd", "Al Corniche"],
    },
    Market {
        country: "BH",
        currency: "BHD",
        per_usd: 1,
        cities: &[("Manama", "Capital", "317"), ("Riffa", "Southern", "901")],
        phone: "3#######",
        names: &["Ali Al-Khalifa", "Zainab Hasan"],
        streets: &["Exhibition Ave", "Sheikh Isa Ave"],
    },
    Market {
        country: "TH",
        currency: "THB",
        per_usd: 35,
        cities: &[("Bangkok", "Bangkok", "10110"), ("Chiang Mai", "Chiang Mai", "50200")],
        phone: "08########",
        names: &["Somchai Wongsakul", "Pimchanok Srisuk", "Nattapong Chaiyaporn"],
        streets: &["Sukhumvit Rd", "Nimmanhaemin Rd"],
    },
    Market {
        country: "VN",
        currency: "VND",
        per_usd: 25000,
        cities: &[("Ho Chi Minh City", "Ho Chi Minh", "700000"), ("Hanoi", "Hanoi", "100000")],
        phone: "09########",
        names: &["Nguyen Van An", "Tran Thi Mai", "Le Hoang Nam"],
        streets: &["Nguyen Hue", "Le Loi", "Hang Bai"],
    },
    Market {
        country: "MY",
        currency: "MYR",
        per_usd: 4,
        cities: &[("Kuala Lumpur", "Wilayah Persekutuan", "50450"), ("Penang", "Pulau Pinang", "10200")],
        phone: "01########",
        names: &["Ahmad Firdaus", "Siti Nurhaliza", "Tan Wei Ming"],
        streets: &["Jalan Bukit Bintang", "Jalan Ampang"],
    },
    Market {
        country: "ID",
        currency: "IDR",
        per_usd: 15500,
        cities: &[("Jakarta", "DKI Jakarta", "10110"), ("Surabaya", "Jawa Timur", "60111")],
        phone: "08##########",
        names: &["Budi Santoso", "Dewi Lestari", "Agus Pratama"],
        streets: &["Jl. Sudirman", "Jl. Thamrin"],
    },
    Market {
        country: "PH",
        currency: "PHP",
        per_usd: 56,
        cities: &[("Quezon City", "Metro Manila", "1100"), ("Cebu City", "Cebu", "6000")],
        phone: "09#########",
        names: &["Maria Santos", "Jose Reyes", "Angelica Cruz"],
        streets: &["EDSA", "Osmena Blvd"],
    },
    Market {
        country: "MX",
        currency: "MXN",
        per_usd: 18,
        cities: &[("Ciudad de México", "CDMX", "06600"), ("Guadalajara", "Jalisco", "44100")],
        phone: "55########",
        names: &["María Hernández", "Juan García", "Lucía Martínez"],
        streets: &["Av. Reforma", "Av. Insurgentes"],
    },
    Market {
        country: "CO",
        currency: "COP",
        per_usd: 4000,
        cities: &[("Bogotá", "Cundinamarca", "110111"), ("Medellín", "Antioquia", "050001")],
        phone: "3#########",
        names: &["Carlos Rodríguez", "Valentina Gómez"],
        streets: &["Carrera 7", "Calle 10"],
    },
    Market {
        country: "CL",
        currency: "CLP",
        per_usd: 900,
        cities: &[("Santiago", "Región Metropolitana", "8320000"), ("Valparaíso", "Valparaíso", "2340000")],
        phone: "9########",
        names: &["Camila Muñoz", "Matías González"],
        streets: &["Av. Providencia", "Av. Libertador"],
    },
    Market {
        country: "PL",
        currency: "PLN",
        per_usd: 4,
        cities: &[("Warszawa", "Mazowieckie", "00-001"), ("Kraków", "Małopolskie", "30-001")],
        phone: "5########",
        names: &["Anna Nowak", "Piotr Kowalski"],
        streets: &["ul. Marszałkowska", "ul. Floriańska"],
    },
    Market {
        country: "RO",
        currency: "RON",
        per_usd: 5,
        cities: &[("București", "București", "010011"), ("Cluj-Napoca", "Cluj", "400001")],
        phone: "07########",
        names: &["Andreea Popescu", "Mihai Ionescu"],
        streets: &["Calea Victoriei", "Str. Memorandumului"],
    },
];

/// (sku, title, grams, cost in CNY fen, HS code, category)
const PRODUCTS: &[(&str, &str, i64, i64, &str, &str)] = &[
    ("LAMP-01", "LED desk lamp, dimmable", 420, 3800, "940540", "home"),
    ("LAMP-02", "Sunset projection lamp", 380, 2900, "940540", "home"),
    ("EARB-01", "Wireless earbuds, ANC", 90, 6500, "851830", "electronics"),
    ("EARB-02", "Sport earbuds, ear hooks", 85, 4200, "851830", "electronics"),
    ("WTCH-01", "Smart watch, 1.9in AMOLED", 120, 9800, "910212", "electronics"),
    ("WTCH-02", "Kids GPS watch", 110, 7600, "910212", "electronics"),
    ("PBNK-01", "Power bank 10000 mAh", 230, 5200, "850760", "electronics"),
    ("CABL-01", "USB-C cable 2 m, braided", 60, 600, "854442", "electronics"),
    ("CHGR-01", "GaN charger 65 W", 130, 4500, "850440", "electronics"),
    ("CASE-01", "Phone case, magnetic", 50, 500, "392690", "accessories"),
    ("BAG-01", "Crossbody bag, vegan leather", 450, 5500, "420222", "fashion"),
    ("BAG-02", "Laptop backpack 15.6in", 900, 8900, "420292", "fashion"),
    ("SCRF-01", "Silk-feel scarf", 80, 1500, "621420", "fashion"),
    ("ABAY-01", "Open abaya, crepe", 600, 9000, "620449", "fashion"),
    ("HIJB-01", "Jersey hijab, 3 pack", 240, 2400, "621710", "fashion"),
    ("SHOE-01", "Running shoes, knit", 700, 11000, "640411", "fashion"),
    ("SUNG-01", "Polarised sunglasses", 60, 1800, "900410", "accessories"),
    ("WALL-01", "RFID slim wallet", 70, 1300, "420232", "accessories"),
    ("PERF-01", "Oud perfume oil 12 ml", 90, 3500, "330300", "beauty"),
    ("SKIN-01", "Vitamin C serum 30 ml", 110, 2200, "330499", "beauty"),
    ("HAIR-01", "Ionic hair dryer", 650, 9500, "851631", "beauty"),
    ("TRIM-01", "Beard trimmer", 250, 5800, "851020", "beauty"),
    ("KTCH-01", "Electric milk frother", 180, 1600, "850940", "home"),
    ("KTCH-02", "Silicone spatula set", 300, 1400, "392410", "home"),
    ("BTL-01", "Insulated bottle 750 ml", 380, 2600, "961700", "home"),
    ("TOY-01", "Magnetic building tiles, 60", 1200, 9000, "950300", "toys"),
    ("TOY-02", "RC stunt car", 800, 7000, "950300", "toys"),
    ("YOGA-01", "Yoga mat 6 mm", 1100, 4800, "950691", "sports"),
    ("BAND-01", "Resistance bands, 5 pack", 350, 1900, "950691", "sports"),
    ("CAM-01", "Mini dash cam 1080p", 150, 8200, "852589", "electronics"),
];

const DEMO_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SKUs the demo keeps short of stock, so backorders show.
fn runs_short(product: usize) -> bool {
    product % 9 == 4
}

/// Share of parcels refused, in percent, by region: most regions pay, a few refuse often.
fn refusal_percent(region: &str) -> usize {
    match region {
        "Eastern Province" | "Dhofar" | "Jawa Timur" | "Jalisco" => 45,
        "Cebu" | "Antioquia" => 30,
        _ => 10,
    }
}

/// Buyers who order again and again and refuse at the door: the demo's repeat offenders.
const SERIAL_REFUSERS: &[&str] = &["+966551110001", "+966551110002", "+971551110003", "+6681110004"];

fn phone(r: &mut Rng, pattern: &str) -> String {
    pattern.chars().map(|c| if c == '#' { char::from(b'0' + r.below(10) as u8) } else { c }).collect()
}

/// Price in the market's currency for a product costing `cost_fen` CNY fen, rounded to whole units
/// (how shops price) and written with the currency's decimals.
fn price(cost_fen: i64, m: &Market) -> Result<String> {
    let usd_cents = cost_fen * 100 / 720 * 28 / 10; // landed and marked up about 2.8 times
    let whole = (usd_cents * m.per_usd / 100).max(1);
    let currency = codflow_domain::Currency::parse(m.currency)?;
    Ok(Money::new(whole * 10i64.pow(currency.minor_digits()), currency).amount_string())
}

/// One order of the demo's markets: market, place, one to three SKUs, a buyer (now and then one of the
/// serial refusers), store and payment drawn from `r`. Returns the order, whether its buyer is a serial
/// refuser, and its region.
fn draw(r: &mut Rng, external_id: String, placed: OffsetDateTime) -> Result<(OrderInput, bool, &'static str)> {
    let m = r.pick(MARKETS);
    let (city, region, postal) = *r.pick(m.cities);
    let name = *r.pick(m.names);
    let mut lines = Vec::new();
    for _ in 0..1 + r.below(3) {
        let (sku, _, _, cost, _, _) = *r.pick(PRODUCTS);
        if lines.iter().any(|l: &LineInput| l.sku.as_deref() == Some(sku)) {
            continue;
        }
        lines.push(LineInput {
            sku: Some(sku.into()),
            quantity: Some(1 + (r.below(10) == 0) as i64),
            unit_price: Some(MoneyInput { amount: price(cost, m)?, currency: Some(m.currency.into()) }),
        });
    }
    let serial = r.below(12) == 0;
    let buyer_phone = if serial { (*r.pick(SERIAL_REFUSERS)).to_owned() } else { phone(r, m.phone) };
    let email = (r.below(2) == 0).then(|| format!("buyer{external_id}@example.com"));
    let store = match r.below(6) {
        0 | 1 => "shopify-main",
        2 => "woo-gulf",
        _ => "manual",
    };
    let payment = if r.below(5) == 0 { "prepaid" } else { "cod" };
    let order = DemoOrder {
        market: m,
        place: (city, region, postal),
        name,
        store,
        external_id,
        placed,
        payment,
        phone: buyer_phone,
        email,
        lines,
    };
    Ok((order.input(r)?, serial, region))
}

/// `n` orders of the demo's markets placed over `day`, numbered from `first`; the same seed gives the same
/// orders. A third come from the Shopify shop and a sixth from the WooCommerce shop (`demo_shops`).
pub fn simulated_orders(seed: u64, first: usize, day: OffsetDateTime, n: usize) -> Result<Vec<OrderInput>> {
    let mut r = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d).wrapping_add(first as u64) | 1);
    let mut inputs = Vec::with_capacity(n);
    for k in 0..n {
        let placed = day + Duration::seconds(k as i64 * 86_400 / n.max(1) as i64);
        inputs.push(draw(&mut r, format!("S{}", first + k), placed)?.0);
    }
    Ok(inputs)
}

/// The regions the demo's buyers refuse in most, as `COUNTRY:Region` with the share they take
/// (for the sandbox carrier's model in a simulation).
pub fn refusing_regions() -> Vec<(String, f64)> {
    MARKETS
        .iter()
        .flat_map(|m| m.cities.iter().map(move |c| (m.country, c.1)))
        .filter(|(_, region)| refusal_percent(region) > 10)
        .map(|(country, region)| (format!("{country}:{region}"), 1.0 - refusal_percent(region) as f64 / 100.0))
        .collect()
}

/// One demo order before the street is drawn: what differs between the history and the fresh orders.
struct DemoOrder<'a> {
    market: &'a Market,
    place: (&'a str, &'a str, &'a str),
    name: &'a str,
    store: &'a str,
    external_id: String,
    placed: OffsetDateTime,
    payment: &'a str,
    phone: String,
    email: Option<String>,
    lines: Vec<LineInput>,
}

impl DemoOrder<'_> {
    fn input(self, r: &mut Rng) -> Result<OrderInput> {
        let m = self.market;
        let (city, region, postal) = self.place;
        Ok(OrderInput {
            store: Some(self.store.into()),
            external_id: Some(self.external_id),
            placed_at: Some(self.placed.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()),
            currency: Some(m.currency.into()),
            payment_method: Some(self.payment.into()),
            buyer: BuyerInput { name: Some(self.name.into()), phone: Some(self.phone), email: self.email },
            shipping_address: AddressInput {
                name: Some(self.name.into()),
                phone: None,
                line1: Some(format!("{} {}", r.pick(m.streets), 1 + r.below(200))),
                line2: None,
                city: Some(city.into()),
                region: Some(region.into()),
                postal_code: Some(postal.into()).filter(|p: &String| !p.is_empty()),
                country: Some(m.country.into()),
            },
            lines: self.lines,
            shipping_fee: Some(MoneyInput { amount: price(700, m)?, currency: Some(m.currency.into()) }),
        })
    }
}

/// The demo shop without orders: warehouses, catalogue and stock, carriers and rate cards, lists and
/// every ready-made rule switched on. A simulation's days bring the orders.
pub async fn seed_demo_shop(app: &App) -> Result<()> {
    seed_catalogue(app, &mut Rng(DEMO_SEED)).await?;
    seed_demo_rules(app).await
}

/// The demo's today after a simulated past: the SKUs it keeps short have run out, and a last hour of
/// orders waits, reviewed by the rules (some held or cancelled with reasons, some backordered), not yet
/// booked. Returns how many orders were placed and how many of them review held.
pub async fn seed_demo_today(app: &App) -> Result<(usize, usize)> {
    let by = Actor::Worker("demo".into());
    for (i, p) in PRODUCTS.iter().enumerate() {
        if runs_short(i) {
            let level = app
                .catalogue()
                .stock(&codflow_domain::WarehouseCode::parse("SZ1")?, &codflow_domain::Sku::parse(p.0)?)
                .await?;
            let change = StockChange { on_hand: Some(level.level.reserved), location: None };
            app.catalogue()
                .set_stock(
                    &codflow_domain::WarehouseCode::parse("SZ1")?,
                    &codflow_domain::Sku::parse(p.0)?,
                    change,
                    by.clone(),
                )
                .await?;
        }
    }
    seed_reviewed_orders(app, &mut Rng(DEMO_SEED ^ 0x5eed), 60).await
}

async fn seed_catalogue(app: &App, r: &mut Rng) -> Result<()> {
    let by = Actor::Worker("demo".into());
    for (code, name, country) in [("SZ1", "Shenzhen main warehouse", "CN"), ("DXB1", "Dubai overseas warehouse", "AE")]
    {
        app.catalogue()
            .create_warehouse(
                WarehouseInput { code: Some(code.into()), name: Some(name.into()), country: Some(country.into()) },
                by.clone(),
            )
            .await?;
    }
    for (i, (sku, title, grams, cost, hs, cat)) in PRODUCTS.iter().enumerate() {
        app.catalogue()
            .create_product(
                ProductInput {
                    sku: Some((*sku).into()),
                    title: Some((*title).into()),
                    unit_weight_g: Some(*grams),
                    unit_cost: Some(MoneyInput {
                        amount: Money::new(*cost, codflow_domain::Currency::parse("CNY")?).amount_string(),
                        currency: Some("CNY".into()),
                    }),
                    hs_code: Some((*hs).into()),
                    origin_country: Some("CN".into()),
                    category: Some((*cat).into()),
                },
                by.clone(),
            )
            .await?;
        // A few SKUs run short so the demo shows backorders.
        let sz = if runs_short(i) { 3 } else { 150 + r.below(400) as i64 };
        // Bins by aisle, bay and shelf, so picking lists have a walk to follow.
        let bin = |aisle: &str| format!("{aisle}-{:02}-{}", i / 4 + 1, i % 4 + 1);
        let at = |on_hand: i64, location: String| StockChange { on_hand: Some(on_hand), location: Some(location) };
        app.catalogue()
            .set_stock(
                &codflow_domain::WarehouseCode::parse("SZ1")?,
                &codflow_domain::Sku::parse(sku)?,
                at(sz, bin(["A", "B", "C"][i % 3])),
                by.clone(),
            )
            .await?;
        if i % 3 == 0 {
            app.catalogue()
                .set_stock(
                    &codflow_domain::WarehouseCode::parse("DXB1")?,
                    &codflow_domain::Sku::parse(sku)?,
                    at(20 + r.below(60) as i64, bin("D")),
                    by.clone(),
                )
                .await?;
        }
    }
    let mut currencies: Vec<(&str, i64)> = MARKETS.iter().map(|m| (m.currency, m.per_usd)).collect();
    // The goods are bought in yuan: profit needs the yuan's rate as much as the markets'.
    currencies.push(("CNY", 7));
    seed_logistics(app, &currencies).await
}

/// Records simulated orders through intake, as keyed in or imported; returns the ids created.
pub async fn create_simulated(app: &App, inputs: Vec<OrderInput>) -> Result<Vec<String>> {
    use futures::StreamExt;
    let n = inputs.len();
    let by = Actor::Worker("simulation".into());
    let created: Vec<Result<codflow_app::orders::IntakeOutcome>> = futures::stream::iter(inputs)
        .map(|i| app.intake().create_order(i, by.clone()))
        .buffer_unordered(32)
        .collect()
        .await;
    let mut ids = Vec::with_capacity(n);
    for c in created {
        if let codflow_app::orders::IntakeOutcome::Created(o) = c? {
            ids.push(o.id.to_string());
        }
    }
    Ok(ids)
}

/// Lists, and every ready-made rule switched on.
async fn seed_demo_rules(app: &App) -> Result<()> {
    let by = Actor::Worker("demo".into());
    let entries: [(&str, &[&str]); 3] = [
        ("cod_unsupported_regions", &["SA:Jizan Province"]),
        ("blacklisted_phones", &[SERIAL_REFUSERS[3]]),
        ("blacklisted_postcodes", &["CO:050001"]),
    ];
    for (list, values) in entries {
        let values = values.iter().map(|v| ((*v).to_owned(), Some("demo".to_owned()))).collect();
        app.review().add_list_entries(list, values, |i| format!("values[{i}]"), by.clone()).await?;
    }
    use codflow_domain::review::templates::ParamValue as P;
    let templates: Vec<(&str, Vec<(&str, P)>)> = vec![
        ("cod_unsupported_region", vec![]),
        ("blacklisted_destination", vec![]),
        ("blacklisted_phone", vec![]),
        ("region_refusal_rate", vec![("max_rate", P::Number(0.3)), ("min_samples", P::Int(10))]),
        ("high_value", vec![("limit", P::Text("150.00".into()))]),
        ("large_quantity", vec![("max_items", P::Int(5)), ("max_per_sku", P::Int(2))]),
        ("refusing_phone", vec![("min_refusals", P::Int(2))]),
        ("duplicate_24h", vec![]),
        (
            "sku_region_block",
            vec![
                ("skus", P::List(vec!["PERF-01".into()])),
                ("regions", P::List(vec!["kw".into()])),
                ("cod_only", P::Bool(false)),
            ],
        ),
        ("invalid_mobile", vec![]),
    ];
    for (i, (key, params)) in templates.into_iter().enumerate() {
        let params = params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        app.review().rule_from_template(key, params, None, Some(10 * (i as i32 + 1)), by.clone()).await?;
    }
    for (name, condition, action, reason) in [
        (
            "Risky COD: ask for prepayment",
            "order.cod && risk.score > 0.45",
            "block_cod",
            "the refusal risk of this order is high; please pay in advance",
        ),
        (
            "First order above 80 USD",
            "buyer.orders == 0 && order.total_base_minor > 8000",
            "flag",
            "a new buyer with a large first order",
        ),
    ] {
        app.review()
            .create_rule(
                codflow_app::rules::RuleInput {
                    name: Some(name.into()),
                    priority: Some(200),
                    enabled: Some(true),
                    condition: Some(condition.into()),
                    action: Some(action.into()),
                    reason: Some(reason.into()),
                    notify: None,
                },
                by.clone(),
            )
            .await?;
    }
    Ok(())
}

/// Orders of the last hours (by the app's clock), reviewed by the rules: some pass, some are held or
/// cancelled with reasons.
async fn seed_reviewed_orders(app: &App, r: &mut Rng, n: usize) -> Result<(usize, usize)> {
    let by = Actor::Worker("demo".into());
    let now = app.clock().now();
    let mut held = 0;
    for k in 0..n {
        let m = r.pick(MARKETS);
        let (city, region, postal) = if k % 10 == 0 { MARKETS[0].cities[3] } else { *r.pick(m.cities) };
        let m = if k % 10 == 0 { &MARKETS[0] } else { m };
        let name = *r.pick(m.names);
        let (sku, _, _, cost, _, _) = *r.pick(PRODUCTS);
        let quantity = if k % 13 == 0 { 4 } else { 1 };
        let phone = if k % 7 == 0 { (*r.pick(SERIAL_REFUSERS)).to_owned() } else { phone(r, m.phone) };
        let order = DemoOrder {
            market: m,
            place: (city, region, postal),
            name,
            store: "shopify-main",
            external_id: format!("{}", 200_000 + k),
            placed: now - Duration::minutes(5 * (n - k) as i64),
            payment: "cod",
            phone,
            email: Some(format!("reviewed{k}@example.com")),
            lines: vec![LineInput {
                sku: Some(sku.into()),
                quantity: Some(quantity),
                unit_price: Some(MoneyInput { amount: price(cost, m)?, currency: Some(m.currency.into()) }),
            }],
        };
        let input = order.input(r)?;
        if let codflow_app::orders::IntakeOutcome::Created(o) = app.intake().create_order(input, by.clone()).await?
            && o.status == codflow_domain::OrderStatus::OnHold
        {
            held += 1;
        }
    }
    Ok((n, held))
}
