//! Buyer notifications: templates per language (built in, editable), rendering into the outbox in the
//! deciding transaction, and the dispatcher that sends with retries and backoff.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use codflow_connectors::notify::{EmailSender, HttpSms, Outgoing, SendError, SmsSender, SmtpMailer};
pub use codflow_domain::work::{Notification, SendStatus as Status};
use codflow_domain::{Country, NotificationId, Order, RuleMatch};
use codflow_store::outbox::{self, Channel};
pub use codflow_store::outbox::{Filter, StoredTemplate};
use codflow_store::{Conn, Store};
use minijinja::{Environment, UndefinedBehavior, context};
use time::{Duration, OffsetDateTime};

use crate::error::ConflictKind;
use crate::{Error, Result, Tracking};

pub const LANGUAGES: [&str; 4] = ["en", "ar", "es", "zh"];

/// The language a buyer is written to in, from the destination country.
pub fn language_for(country: Country) -> &'static str {
    match country.code() {
        "SA" | "AE" | "KW" | "QA" | "BH" | "OM" | "EG" | "JO" | "IQ" | "MA" | "DZ" | "TN" | "LB" | "LY" | "YE" => "ar",
        "MX" | "CO" | "CL" | "PE" | "AR" | "ES" | "EC" | "GT" | "BO" | "UY" | "PY" | "CR" | "PA" | "DO" | "VE" => "es",
        "CN" | "TW" | "HK" | "MO" => "zh",
        _ => "en",
    }
}

/// (name, language, subject, email body, SMS). Variables: `buyer`, `order` (external id), `store`, `total`,
/// `reason`.
const BUILT_IN: &[(&str, &str, &str, &str, &str)] = &[
    (
        "cod_unavailable",
        "en",
        "Your order {{ order }}: cash on delivery is not available",
        "Hello {{ buyer }},\n\nWe cannot deliver order {{ order }} ({{ total }}) with cash on delivery: {{ reason }}.\nIf you would like to pay in advance instead, reply to this message and we will send a payment link.\n\n{{ store }}",
        "{{ store }}: order {{ order }} cannot be paid on delivery ({{ reason }}). Reply to pay in advance.",
    ),
    (
        "cod_unavailable",
        "ar",
        "طلبك {{ order }}: الدفع عند الاستلام غير متاح",
        "مرحباً {{ buyer }}،\n\nلا يمكننا توصيل الطلب {{ order }} ({{ total }}) بالدفع عند الاستلام: {{ reason }}.\nإذا رغبت في الدفع مسبقاً، رد على هذه الرسالة وسنرسل لك رابط الدفع.\n\n{{ store }}",
        "{{ store }}: الطلب {{ order }} لا يمكن دفعه عند الاستلام ({{ reason }}). رد للدفع مسبقاً.",
    ),
    (
        "cod_unavailable",
        "es",
        "Tu pedido {{ order }}: el pago contra entrega no está disponible",
        "Hola {{ buyer }}:\n\nNo podemos entregar el pedido {{ order }} ({{ total }}) con pago contra entrega: {{ reason }}.\nSi prefieres pagar por adelantado, responde a este mensaje y te enviaremos un enlace de pago.\n\n{{ store }}",
        "{{ store }}: el pedido {{ order }} no admite pago contra entrega ({{ reason }}). Responde para pagar por adelantado.",
    ),
    (
        "cod_unavailable",
        "zh",
        "您的订单 {{ order }}：暂不支持货到付款",
        "{{ buyer }}，您好：\n\n订单 {{ order }}（{{ total }}）无法使用货到付款：{{ reason }}。\n如需预先付款，请回复此消息，我们将发送付款链接。\n\n{{ store }}",
        "{{ store }}：订单 {{ order }} 不支持货到付款（{{ reason }}）。回复即可预付。",
    ),
    (
        "confirm_order",
        "en",
        "Please confirm your order {{ order }}",
        "Hello {{ buyer }},\n\nThank you for order {{ order }} ({{ total }}). Before we ship it we will call you to confirm: {{ reason }}.\n\n{{ store }}",
        "{{ store }}: we will call you to confirm order {{ order }} ({{ total }}) before shipping.",
    ),
    (
        "confirm_order",
        "ar",
        "يرجى تأكيد طلبك {{ order }}",
        "مرحباً {{ buyer }}،\n\nشكراً لطلبك {{ order }} ({{ total }}). سنتصل بك للتأكيد قبل الشحن: {{ reason }}.\n\n{{ store }}",
        "{{ store }}: سنتصل بك لتأكيد الطلب {{ order }} ({{ total }}) قبل الشحن.",
    ),
    (
        "confirm_order",
        "es",
        "Confirma tu pedido {{ order }}",
        "Hola {{ buyer }}:\n\nGracias por el pedido {{ order }} ({{ total }}). Antes de enviarlo te llamaremos para confirmarlo: {{ reason }}.\n\n{{ store }}",
        "{{ store }}: te llamaremos para confirmar el pedido {{ order }} ({{ total }}) antes del envío.",
    ),
    (
        "confirm_order",
        "zh",
        "请确认您的订单 {{ order }}",
        "{{ buyer }}，您好：\n\n感谢您的订单 {{ order }}（{{ total }}）。发货前我们会致电与您确认：{{ reason }}。\n\n{{ store }}",
        "{{ store }}：订单 {{ order }}（{{ total }}）发货前我们会致电确认。",
    ),
    (
        "prepayment_required",
        "en",
        "Your order {{ order }} needs payment before shipping",
        "Hello {{ buyer }},\n\nOrder {{ order }} ({{ total }}) cannot be paid on delivery: {{ reason }}.\nWe keep it for you: pay in advance and we ship it at once.\n\n{{ store }}",
        "{{ store }}: order {{ order }} must be paid before shipping ({{ reason }}). We keep it for you.",
    ),
    (
        "prepayment_required",
        "ar",
        "طلبك {{ order }} يحتاج إلى الدفع قبل الشحن",
        "مرحباً {{ buyer }}،\n\nلا يمكن دفع الطلب {{ order }} ({{ total }}) عند الاستلام: {{ reason }}.\nنحتفظ به لك: ادفع مسبقاً وسنشحنه فوراً.\n\n{{ store }}",
        "{{ store }}: يجب دفع الطلب {{ order }} قبل الشحن ({{ reason }}). نحتفظ به لك.",
    ),
    (
        "prepayment_required",
        "es",
        "Tu pedido {{ order }} necesita pago antes del envío",
        "Hola {{ buyer }}:\n\nEl pedido {{ order }} ({{ total }}) no se puede pagar contra entrega: {{ reason }}.\nLo guardamos para ti: paga por adelantado y lo enviamos enseguida.\n\n{{ store }}",
        "{{ store }}: el pedido {{ order }} debe pagarse antes del envío ({{ reason }}). Lo guardamos para ti.",
    ),
    (
        "prepayment_required",
        "zh",
        "您的订单 {{ order }} 需在发货前付款",
        "{{ buyer }}，您好：\n\n订单 {{ order }}（{{ total }}）无法货到付款：{{ reason }}。\n我们为您保留订单：预付后立即发货。\n\n{{ store }}",
        "{{ store }}：订单 {{ order }} 需发货前付款（{{ reason }}）。我们为您保留订单。",
    ),
    (
        "order_cancelled",
        "en",
        "Your order {{ order }} was cancelled",
        "Hello {{ buyer }},\n\nWe are sorry: order {{ order }} ({{ total }}) was cancelled: {{ reason }}.\n\n{{ store }}",
        "{{ store }}: order {{ order }} was cancelled ({{ reason }}).",
    ),
    (
        "order_cancelled",
        "ar",
        "تم إلغاء طلبك {{ order }}",
        "مرحباً {{ buyer }}،\n\nنعتذر: تم إلغاء الطلب {{ order }} ({{ total }}): {{ reason }}.\n\n{{ store }}",
        "{{ store }}: تم إلغاء الطلب {{ order }} ({{ reason }}).",
    ),
    (
        "order_cancelled",
        "es",
        "Tu pedido {{ order }} fue cancelado",
        "Hola {{ buyer }}:\n\nLo sentimos: el pedido {{ order }} ({{ total }}) fue cancelado: {{ reason }}.\n\n{{ store }}",
        "{{ store }}: el pedido {{ order }} fue cancelado ({{ reason }}).",
    ),
    (
        "order_cancelled",
        "zh",
        "您的订单 {{ order }} 已取消",
        "{{ buyer }}，您好：\n\n很抱歉，订单 {{ order }}（{{ total }}）已取消：{{ reason }}。\n\n{{ store }}",
        "{{ store }}：订单 {{ order }} 已取消（{{ reason }}）。",
    ),
    (
        "shipment_shipped",
        "en",
        "Your order {{ order }} is on its way",
        "Hello {{ buyer }},\n\nOrder {{ order }} has left our warehouse. Tracking number {{ tracking }}, expected by {{ eta }}.\nFollow it here: {{ link }}\n{% if cod %}Please have {{ cod }} ready in cash when it arrives.\n{% endif %}\n{{ store }}",
        "{{ store }}: order {{ order }} shipped, tracking {{ tracking }}, expected by {{ eta }}. {{ link }}",
    ),
    (
        "shipment_shipped",
        "ar",
        "طلبك {{ order }} في الطريق إليك",
        "مرحباً {{ buyer }}،\n\nغادر الطلب {{ order }} مستودعنا. رقم التتبع {{ tracking }}، ويتوقع وصوله بحلول {{ eta }}.\nتابعه هنا: {{ link }}\n{% if cod %}يرجى تجهيز {{ cod }} نقداً عند الاستلام.\n{% endif %}\n{{ store }}",
        "{{ store }}: تم شحن الطلب {{ order }}، رقم التتبع {{ tracking }}، الوصول المتوقع {{ eta }}. {{ link }}",
    ),
    (
        "shipment_shipped",
        "es",
        "Tu pedido {{ order }} está en camino",
        "Hola {{ buyer }}:\n\nEl pedido {{ order }} salió de nuestro almacén. Número de seguimiento {{ tracking }}, llegada prevista antes del {{ eta }}.\nSíguelo aquí: {{ link }}\n{% if cod %}Ten listos {{ cod }} en efectivo para la entrega.\n{% endif %}\n{{ store }}",
        "{{ store }}: el pedido {{ order }} fue enviado, seguimiento {{ tracking }}, llegada prevista {{ eta }}. {{ link }}",
    ),
    (
        "shipment_shipped",
        "zh",
        "您的订单 {{ order }} 已发货",
        "{{ buyer }}，您好：\n\n订单 {{ order }} 已从仓库发出。运单号 {{ tracking }}，预计 {{ eta }} 前送达。\n查看物流：{{ link }}\n{% if cod %}请在收货时准备好现金 {{ cod }}。\n{% endif %}\n{{ store }}",
        "{{ store }}：订单 {{ order }} 已发货，运单号 {{ tracking }}，预计 {{ eta }} 送达。{{ link }}",
    ),
    (
        "shipment_out_for_delivery",
        "en",
        "Your order {{ order }} arrives today",
        "Hello {{ buyer }},\n\nOrder {{ order }} is out for delivery today.{% if cod %} Please have exactly {{ cod }} ready in cash for the courier.{% endif %}\n{{ link }}\n\n{{ store }}",
        "{{ store }}: order {{ order }} arrives today.{% if cod %} Please have exactly {{ cod }} ready in cash.{% endif %}",
    ),
    (
        "shipment_out_for_delivery",
        "ar",
        "طلبك {{ order }} يصل اليوم",
        "مرحباً {{ buyer }}،\n\nالطلب {{ order }} خرج للتوصيل اليوم.{% if cod %} يرجى تجهيز المبلغ {{ cod }} نقداً للمندوب.{% endif %}\n{{ link }}\n\n{{ store }}",
        "{{ store }}: الطلب {{ order }} يصل اليوم.{% if cod %} يرجى تجهيز {{ cod }} نقداً.{% endif %}",
    ),
    (
        "shipment_out_for_delivery",
        "es",
        "Tu pedido {{ order }} llega hoy",
        "Hola {{ buyer }}:\n\nEl pedido {{ order }} sale hoy a reparto.{% if cod %} Ten listos exactamente {{ cod }} en efectivo para el repartidor.{% endif %}\n{{ link }}\n\n{{ store }}",
        "{{ store }}: el pedido {{ order }} llega hoy.{% if cod %} Ten listos exactamente {{ cod }} en efectivo.{% endif %}",
    ),
    (
        "shipment_out_for_delivery",
        "zh",
        "您的订单 {{ order }} 今天送达",
        "{{ buyer }}，您好：\n\n订单 {{ order }} 今天派送。{% if cod %}请为快递员准备好现金 {{ cod }}。{% endif %}\n{{ link }}\n\n{{ store }}",
        "{{ store }}：订单 {{ order }} 今天送达。{% if cod %}请准备好现金 {{ cod }}。{% endif %}",
    ),
    (
        "shipment_delivery_failed",
        "en",
        "We could not deliver your order {{ order }}",
        "Hello {{ buyer }},\n\nThe courier could not deliver order {{ order }} ({{ reason }}).\nTell us when and where to deliver it, or give us another number to call: {{ link }}\n\n{{ store }}",
        "{{ store }}: we could not deliver order {{ order }}. Choose a new day or address: {{ link }}",
    ),
    (
        "shipment_delivery_failed",
        "ar",
        "تعذر توصيل طلبك {{ order }}",
        "مرحباً {{ buyer }}،\n\nلم يتمكن المندوب من توصيل الطلب {{ order }} ({{ reason }}).\nأخبرنا متى وأين نوصله، أو أعطنا رقماً آخر للاتصال: {{ link }}\n\n{{ store }}",
        "{{ store }}: تعذر توصيل الطلب {{ order }}. اختر يوماً أو عنواناً جديداً: {{ link }}",
    ),
    (
        "shipment_delivery_failed",
        "es",
        "No pudimos entregar tu pedido {{ order }}",
        "Hola {{ buyer }}:\n\nEl repartidor no pudo entregar el pedido {{ order }} ({{ reason }}).\nDinos cuándo y dónde entregarlo, o danos otro número de contacto: {{ link }}\n\n{{ store }}",
        "{{ store }}: no pudimos entregar el pedido {{ order }}. Elige otro día o dirección: {{ link }}",
    ),
    (
        "shipment_delivery_failed",
        "zh",
        "您的订单 {{ order }} 派送未成功",
        "{{ buyer }}，您好：\n\n快递员未能送达订单 {{ order }}（{{ reason }}）。\n请告诉我们何时何地重新派送，或留下其他联系电话：{{ link }}\n\n{{ store }}",
        "{{ store }}：订单 {{ order }} 派送未成功。请选择新的日期或地址：{{ link }}",
    ),
    (
        "shipment_delivered",
        "en",
        "Your order {{ order }} was delivered",
        "Hello {{ buyer }},\n\nOrder {{ order }} was delivered. Thank you for your purchase!\n\n{{ store }}",
        "{{ store }}: order {{ order }} was delivered. Thank you!",
    ),
    (
        "shipment_delivered",
        "ar",
        "تم توصيل طلبك {{ order }}",
        "مرحباً {{ buyer }}،\n\nتم توصيل الطلب {{ order }}. شكراً لتسوقك معنا!\n\n{{ store }}",
        "{{ store }}: تم توصيل الطلب {{ order }}. شكراً لك!",
    ),
    (
        "shipment_delivered",
        "es",
        "Tu pedido {{ order }} fue entregado",
        "Hola {{ buyer }}:\n\nEl pedido {{ order }} fue entregado. ¡Gracias por tu compra!\n\n{{ store }}",
        "{{ store }}: el pedido {{ order }} fue entregado. ¡Gracias!",
    ),
    (
        "shipment_delivered",
        "zh",
        "您的订单 {{ order }} 已送达",
        "{{ buyer }}，您好：\n\n订单 {{ order }} 已送达。感谢您的购买！\n\n{{ store }}",
        "{{ store }}：订单 {{ order }} 已送达。谢谢！",
    ),
];

/// Every template name and language with its text: the built-ins, overridden by the seller's edits.
pub(crate) fn merged(stored: Vec<StoredTemplate>) -> BTreeMap<(String, String), StoredTemplate> {
    let mut all: BTreeMap<(String, String), StoredTemplate> = BUILT_IN
        .iter()
        .map(|(n, l, s, b, m)| {
            let t = StoredTemplate {
                name: (*n).into(),
                language: (*l).into(),
                subject: (*s).into(),
                body: (*b).into(),
                sms: (*m).into(),
            };
            (((*n).into(), (*l).into()), t)
        })
        .collect();
    for t in stored {
        all.insert((t.name.clone(), t.language.clone()), t);
    }
    all
}

/// What a template may be and cost (documented in docs/SECURITY.md): its texts' lengths in characters,
/// the instructions one rendering may run, how deep it may nest, and the length of what it renders.
pub mod limits {
    pub const SUBJECT: usize = 200;
    pub const BODY: usize = 10_000;
    pub const SMS: usize = 1_000;
    pub const FUEL: u64 = 50_000;
    pub const RECURSION: usize = 20;
    pub const OUTPUT: usize = 20_000;
}

pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // A misspelt variable must fail when the template is saved, not print nothing to a buyer.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // A template is the seller's text, rendered for every order: loops over `range(9000)` inside each
    // other must stop, not stall the server.
    env.set_fuel(Some(limits::FUEL));
    env.set_recursion_limit(limits::RECURSION);
    env
}

pub(crate) fn render(
    env: &Environment<'_>,
    src: &str,
    ctx: &minijinja::Value,
) -> std::result::Result<String, minijinja::Error> {
    let out = env.render_str(src, ctx.clone())?;
    if out.chars().count() > limits::OUTPUT {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("renders to more than {} characters", limits::OUTPUT),
        ));
    }
    Ok(out)
}

/// Checks a template's three texts by rendering them with sample values; errors carry the part and line.
/// Variables: `buyer`, `order`, `store`, `total`, `reason`, and for shipment messages `tracking`, `eta`,
/// `link` and `cod` (empty when prepaid).
/// The values a template is checked and previewed with: every name a message can use.
fn sample() -> minijinja::Value {
    context! {
        buyer => "Noura", order => "1001", store => "manual", total => "129.50 SAR", reason => "sample reason",
        tracking => "SB000000000CN", eta => "2026-12-01", link => "https://example.com/track/SB000000000CN",
        cod => "129.50 SAR",
    }
}

/// The names a template can use, for the people writing one.
pub const TEMPLATE_VALUES: [&str; 9] = ["buyer", "order", "store", "total", "reason", "tracking", "eta", "link", "cod"];

/// A template as a buyer would read it (subject, e-mail body, SMS), written with sample values; refused as
/// [`check_template`] refuses it.
pub fn preview_template(t: &StoredTemplate) -> Result<(String, String, String)> {
    check_template(t)?;
    let env = environment();
    let ctx = sample();
    let part = |src: &str| render(&env, src, &ctx).map_err(|e| Error::invalid("template", e.to_string()));
    Ok((part(&t.subject)?, part(&t.body)?, part(&t.sms)?))
}

pub fn check_template(t: &StoredTemplate) -> Result<()> {
    let mut errors = codflow_domain::FieldErrors::default();
    if !LANGUAGES.contains(&t.language.as_str()) {
        errors.push("language", format!("must be one of {}", LANGUAGES.join(", ")));
    }
    if t.name.is_empty()
        || t.name.len() > 64
        || !t.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
    {
        errors.push("name", "must be 1 to 64 characters of a-z, 0-9 and _");
    }
    let env = environment();
    let sample = sample();
    let parts =
        [("subject", &t.subject, limits::SUBJECT), ("body", &t.body, limits::BODY), ("sms", &t.sms, limits::SMS)];
    for (path, src, max) in parts {
        if src.trim().is_empty() {
            errors.push(path, "must not be empty");
        } else if let Err(e) = codflow_domain::text::block(src, max) {
            errors.push(path, e.to_string());
        } else if let Err(e) = render(&env, src, &sample) {
            let line = e.line().map(|l| format!(" (line {l})")).unwrap_or_default();
            errors.push(
                path,
                format!("{}{line}", e.kind()).to_owned() + &e.detail().map(|d| format!(": {d}")).unwrap_or_default(),
            );
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(Error::Invalid(errors)) }
}

/// The outbox messages for a decided order: email when the buyer gave an address, and SMS to the phone.
pub fn messages_for(
    order: &Order,
    shop: &str,
    template: &str,
    decisive: &RuleMatch,
    templates: &BTreeMap<(String, String), StoredTemplate>,
    now: OffsetDateTime,
) -> Vec<Notification> {
    let language = language_for(order.shipping_address.country);
    let t = templates
        .get(&(template.to_owned(), language.to_owned()))
        .or_else(|| templates.get(&(template.to_owned(), "en".to_owned())));
    let Some(t) = t else {
        tracing::warn!(template, "rule names a template that does not exist; no message queued");
        return Vec::new();
    };
    let env = environment();
    let ctx = context! {
        buyer => order.buyer.name,
        order => order.external_id,
        store => shop,
        total => order.total.to_string(),
        reason => reason_in(&t.language, &decisive.reason),
    };
    let rendered = |src: &str| render(&env, src, &ctx).unwrap_or_else(|e| format!("{src} [{e}]"));
    let mut out = Vec::new();
    let mut push = |channel, recipient: String, subject: Option<String>, body: String| {
        out.push(Notification {
            id: NotificationId::generate(),
            order_id: order.id.clone(),
            template: template.to_owned(),
            channel,
            event_key: String::new(),
            recipient,
            language: t.language.clone(),
            subject,
            body,
            status: Status::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            created_at: now,
            sent_at: None,
        })
    };
    if let Some(email) = &order.buyer.email {
        push(Channel::Email, email.clone(), Some(rendered(&t.subject)), rendered(&t.body));
    }
    push(Channel::Sms, order.buyer.phone.as_str().to_owned(), None, rendered(&t.sms));
    out
}

/// A rule's reason as the buyer reads it. The seller writes reasons in English for their staff; a message in
/// another language says why in the buyer's language instead of quoting English into it.
fn reason_in<'a>(language: &str, reason: &'a str) -> &'a str {
    match language {
        "ar" => "وفقاً لسياسة المتجر",
        "es" => "por la política de la tienda",
        "zh" => "根据店铺政策",
        _ => reason,
    }
}

/// Whether a template of that name exists in any language (built in or the seller's).
pub async fn template_exists(conn: &mut Conn, name: &str) -> Result<bool> {
    Ok(merged(outbox::templates(conn).await?).keys().any(|(n, _)| n == name))
}

/// Where messages go; a channel without a sender keeps its messages queued until one is configured.
#[derive(Clone, Default)]
pub struct Senders {
    pub email: Option<SmtpMailer>,
    pub sms: Option<HttpSms>,
}

/// Attempts before a message is dead-lettered.
pub const MAX_ATTEMPTS: i64 = 6;
/// How long a claimed message is reserved for one dispatcher before another may take it.
const LEASE: Duration = Duration::seconds(120);

/// Wait before attempt `n + 1` after `n` failures: 30 s doubling, at most an hour.
pub fn backoff(attempts: i64) -> Duration {
    let secs = 30i64.saturating_mul(1i64 << attempts.clamp(1, 8).saturating_sub(1));
    Duration::seconds(secs.min(3600))
}

/// Sends every message due at `now` and records each result. Returns how many were attempted.
pub async fn dispatch_once(store: &Store, senders: &Senders, now: OffsetDateTime) -> Result<usize> {
    let claimed = {
        let mut tx = store.begin().await?;
        let mut channels = Vec::new();
        if senders.email.is_some() {
            channels.push(Channel::Email);
        }
        if senders.sms.is_some() {
            channels.push(Channel::Sms);
        }
        let c = outbox::claim_due(&mut tx, &channels, now, now + LEASE, 20).await?;
        codflow_store::commit(tx).await?;
        c
    };
    let mut attempted = 0;
    for n in claimed {
        let msg = Outgoing {
            id: n.id.to_string(),
            to: n.recipient.clone(),
            subject: n.subject.clone(),
            body: n.body.clone(),
        };
        let result = match n.channel {
            Channel::Email => match &senders.email {
                Some(s) => s.send_email(&msg).await,
                None => Err(SendError::Temporary("no SMTP server is configured".into())),
            },
            Channel::Sms => match &senders.sms {
                Some(s) => s.send_sms(&msg).await,
                None => Err(SendError::Temporary("no SMS provider is configured".into())),
            },
        };
        attempted += 1;
        let mut tx = store.begin().await?;
        match result {
            Ok(()) => outbox::mark_sent(&mut tx, &n.id, now).await?,
            Err(e) => {
                let retry = match e {
                    SendError::Temporary(_) if n.attempts < MAX_ATTEMPTS => Some(now + backoff(n.attempts)),
                    _ => None,
                };
                tracing::warn!(id = %n.id, channel = n.channel.as_str(), error = %e, dead = retry.is_none(), "notification not sent");
                outbox::mark_failed(&mut tx, &n.id, &e.to_string(), retry, now).await?;
            }
        }
        codflow_store::commit(tx).await?;
    }
    Ok(attempted)
}

/// The dispatcher worker: sends what is due, then waits a little or until intake says something was queued.
pub(crate) async fn run_dispatcher(
    store: Store,
    senders: Senders,
    ctx: std::sync::Arc<crate::runtime::Ctx>,
    mut stop: crate::workers::Stop,
) {
    while !stop.requested() {
        // The app's clock, like tracking: a message held for the morning waits for the morning of the clock
        // that scheduled it (the demo's runs a day per second).
        match dispatch_once(&store, &senders, ctx.clock.now()).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "notification dispatcher"),
        }
        if stop.pause(StdDuration::from_secs(2), Some(&ctx.wake)).await {
            break;
        }
    }
}

impl Tracking {
    /// Starts the worker that sends queued buyer messages with the senders the app was built with; must be
    /// called inside a tokio runtime.
    pub fn start_dispatcher(&self) {
        let (store, senders, wake) = (self.store.clone(), self.senders.clone(), self.ctx.clone());
        self.ctx.workers.spawn("outbox", move |stop| run_dispatcher(store, senders, wake, stop));
    }

    pub async fn notification_templates(&self) -> Result<Vec<StoredTemplate>> {
        let stored = outbox::templates(&mut *self.store.read().await?).await?;
        Ok(merged(stored).into_values().collect())
    }

    pub async fn put_notification_template(&self, t: StoredTemplate) -> Result<StoredTemplate> {
        check_template(&t)?;
        let mut tx = self.store.begin().await?;
        outbox::put_template(&mut tx, &t, self.clock().now()).await?;
        codflow_store::commit(tx).await?;
        Ok(t)
    }

    pub async fn notifications(
        &self,
        filter: outbox::Filter,
        limit: i64,
    ) -> Result<(Vec<Notification>, Option<String>)> {
        let rows = outbox::list(&mut *self.store.read().await?, &filter, limit).await?;
        Ok(crate::split_page(rows, limit, |n| n.id.to_string()))
    }

    pub async fn retry_notification(&self, id: &NotificationId) -> Result<()> {
        let id = id.clone();
        let mut tx = self.store.begin().await?;
        let ok = outbox::retry(&mut tx, &id, self.clock().now()).await?;
        codflow_store::commit(tx).await?;
        if ok {
            Ok(())
        } else {
            Err(Error::Conflict {
                kind: ConflictKind::NotDead,
                message: "only a dead-lettered message can be retried".into(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(body: &str) -> StoredTemplate {
        StoredTemplate {
            name: "held".into(),
            language: "en".into(),
            subject: "Your order {{ order }}".into(),
            body: body.into(),
            sms: "Order {{ order }}".into(),
        }
    }

    fn refused_paths(t: &StoredTemplate) -> Vec<(String, String)> {
        match check_template(t) {
            Err(Error::Invalid(e)) => e.0.into_iter().map(|f| (f.path, f.message)).collect(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn nested_loops_run_out_of_fuel_quickly_instead_of_stalling() {
        let started = std::time::Instant::now();
        let e =
            refused_paths(&template("{% for a in range(9000) %}{% for b in range(9000) %}x{% endfor %}{% endfor %}"));
        assert_eq!(e[0].0, "body");
        assert!(e[0].1.contains("fuel") || e[0].1.contains("characters"), "{e:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
    }

    #[test]
    fn a_template_that_renders_too_much_or_is_too_long_or_holds_controls_is_refused() {
        let e = refused_paths(&template("{% for a in range(3000) %}0123456789{% endfor %}"));
        assert_eq!(e[0].0, "body", "{e:?}");
        let e = refused_paths(&template(&"x".repeat(limits::BODY + 1)));
        assert!(e[0].1.contains("longer than 10000"), "{e:?}");
        let e = refused_paths(&template("Hello\u{0}{{ buyer }}"));
        assert!(e[0].1.contains("U+0000"), "{e:?}");
        assert!(check_template(&template("Dear {{ buyer }},\n\tyour order {{ order }} is held.")).is_ok());
    }
}
