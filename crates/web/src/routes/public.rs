//! The buyer's pages, without an account: the public tracking page (no name, phone or street: only the
//! journey) and the failed-delivery self-service page behind a signed, expiring link. Small, server
//! rendered, readable on a phone, in English, Arabic (right to left), Spanish or Chinese.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use codflow_app::ndr::NdrAnswer;
use time::OffsetDateTime;

use crate::state::AppState;

/// The first supported language the browser asks for, English otherwise.
pub fn language_of(headers: &HeaderMap) -> &'static str {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut prefs: Vec<(f32, &str)> = accept
        .split(',')
        .filter_map(|part| {
            let mut it = part.trim().split(';');
            let tag = it.next()?.trim();
            let q = it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse().ok()).unwrap_or(1.0);
            Some((q, tag))
        })
        .collect();
    prefs.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    for (_, tag) in prefs {
        let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
        if let Some(l) = ["en", "ar", "es", "zh"].into_iter().find(|l| *l == primary) {
            return l;
        }
    }
    "en"
}

/// The words of both pages per language: (key, en, ar, es, zh).
const WORDS: &[(&str, &str, &str, &str, &str)] = &[
    ("title", "Track your parcel", "تتبع شحنتك", "Sigue tu paquete", "包裹追踪"),
    ("eta", "Expected by", "الوصول المتوقع", "Llegada prevista", "预计送达"),
    ("now", "Now", "الآن", "Ahora", "当前状态"),
    ("history", "Journey", "مسار الشحنة", "Recorrido", "物流轨迹"),
    (
        "not_found",
        "We do not know this tracking number.",
        "رقم التتبع غير معروف.",
        "No conocemos este número de seguimiento.",
        "未找到该运单号。",
    ),
    ("label_created", "Label created", "تم إنشاء البوليصة", "Etiqueta creada", "已创建运单"),
    ("picked_up", "Picked up", "تم الاستلام من المتجر", "Recogido", "已揽收"),
    ("in_transit", "In transit", "في الطريق", "En tránsito", "运输中"),
    ("customs_processing", "At customs", "في الجمارك", "En aduana", "清关中"),
    ("customs_held", "Held at customs", "محتجزة في الجمارك", "Retenido en aduana", "海关扣留"),
    ("customs_released", "Cleared customs", "تم الإفراج الجمركي", "Liberado por aduana", "已清关"),
    ("out_for_delivery", "Out for delivery", "خرجت للتوصيل", "En reparto", "派送中"),
    ("delivery_failed", "Delivery attempt failed", "تعذر التوصيل", "Entrega fallida", "派送未成功"),
    ("available_for_pickup", "Ready for pickup", "جاهزة للاستلام", "Lista para recoger", "待自提"),
    ("delivered", "Delivered", "تم التوصيل", "Entregado", "已签收"),
    ("returning", "Returning to sender", "في طريق الإرجاع", "Regresando al remitente", "退回中"),
    ("returned", "Returned to sender", "أعيدت إلى المرسل", "Devuelto al remitente", "已退回"),
    (
        "lost",
        "Being traced by the carrier",
        "قيد البحث لدى شركة الشحن",
        "En búsqueda por el transportista",
        "承运商查找中",
    ),
    ("damaged", "Reported damaged", "أبلغ عن تلف", "Reportado dañado", "报告破损"),
    ("cancelled", "Cancelled", "أُلغيت", "Cancelado", "已取消"),
    ("unknown", "Update from the carrier", "تحديث من شركة الشحن", "Actualización del transportista", "承运商更新"),
    ("ndr_title", "We missed you", "لم نتمكن من توصيل طلبك", "No pudimos entregarte", "派送未成功"),
    (
        "ndr_intro",
        "Tell us how to deliver your order",
        "أخبرنا كيف نوصل طلبك",
        "Dinos cómo entregar tu pedido",
        "请告诉我们如何派送您的订单",
    ),
    ("order", "Order", "الطلب", "Pedido", "订单"),
    ("cash", "Cash to prepare", "المبلغ المطلوب نقداً", "Efectivo a preparar", "需准备现金"),
    (
        "reattempt",
        "Deliver again to this address",
        "أعيدوا التوصيل إلى هذا العنوان",
        "Entregar de nuevo en esta dirección",
        "按此地址重新派送",
    ),
    ("day", "Day that suits me", "اليوم المناسب لي", "Día que me conviene", "方便的日期"),
    ("phone", "Another phone to call", "رقم هاتف آخر", "Otro teléfono de contacto", "其他联系电话"),
    ("cash_ready", "I will have the cash ready", "سأجهز المبلغ نقداً", "Tendré el efectivo listo", "我会准备好现金"),
    (
        "change_address",
        "Deliver to another address",
        "التوصيل إلى عنوان آخر",
        "Entregar en otra dirección",
        "改派到其他地址",
    ),
    ("street", "Street and number", "الشارع والرقم", "Calle y número", "街道门牌"),
    ("city", "City", "المدينة", "Ciudad", "城市"),
    (
        "return",
        "I no longer want it: send it back",
        "لم أعد أريده: أعيدوه",
        "Ya no lo quiero: devolverlo",
        "不要了，请退回",
    ),
    ("send", "Send", "إرسال", "Enviar", "提交"),
    (
        "thanks",
        "Thank you: the courier has your answer.",
        "شكراً: وصل ردك إلى شركة الشحن.",
        "Gracias: el repartidor tiene tu respuesta.",
        "谢谢，快递员已收到您的答复。",
    ),
    (
        "kept",
        "Thank you: we have your answer. The courier could not be reached just now; our team will pass it on.",
        "شكراً: وصلنا ردك. تعذّر الوصول إلى شركة الشحن الآن، وسينقله فريقنا إليها.",
        "Gracias: tenemos tu respuesta. No pudimos contactar al repartidor ahora; nuestro equipo se la hará llegar.",
        "谢谢，我们已收到您的答复。暂时无法联系快递公司，我们的团队会转达。",
    ),
    (
        "answered",
        "This delivery was already answered.",
        "تم الرد على هذه المحاولة مسبقاً.",
        "Esta entrega ya fue respondida.",
        "此次派送已答复。",
    ),
    (
        "expired",
        "This link has expired. Please contact the shop.",
        "انتهت صلاحية هذا الرابط. يرجى التواصل مع المتجر.",
        "Este enlace ha caducado. Contacta con la tienda.",
        "链接已过期，请联系商家。",
    ),
    ("invalid", "This link is not valid.", "هذا الرابط غير صالح.", "Este enlace no es válido.", "链接无效。"),
    (
        "moved_on",
        "The courier has moved on; nothing more is needed.",
        "تابعت شركة الشحن الطلب؛ لا حاجة لشيء آخر.",
        "El repartidor ya siguió; no hace falta nada más.",
        "快递已继续处理，无需其他操作。",
    ),
    ("st_title", "Tell us what happened", "أخبرنا بما حدث", "Cuéntanos qué pasó", "请告诉我们发生了什么"),
    (
        "st_intro_lost",
        "Your parcel did not reach you. Your account helps us claim it from the carrier.",
        "لم يصلك طردك. تساعدنا إفادتك في المطالبة به لدى شركة الشحن.",
        "Tu paquete no te llegó. Tu relato nos ayuda a reclamarlo al transportista.",
        "您的包裹未送达。您的说明将帮助我们向承运商索赔。",
    ),
    (
        "st_intro_damaged",
        "Your parcel arrived damaged. Your account and photos help us claim it from the carrier.",
        "وصل طردك تالفاً. تساعدنا إفادتك وصورك في المطالبة لدى شركة الشحن.",
        "Tu paquete llegó dañado. Tu relato y tus fotos nos ayudan a reclamarlo al transportista.",
        "您的包裹送达时已破损。您的说明和照片将帮助我们向承运商索赔。",
    ),
    ("st_description", "What happened", "ماذا حدث", "Qué pasó", "发生了什么"),
    ("st_photos", "Photos (up to 4)", "صور (حتى 4)", "Fotos (hasta 4)", "照片（最多 4 张）"),
    (
        "st_name",
        "Your full name (your signature)",
        "اسمك الكامل (توقيعك)",
        "Tu nombre completo (tu firma)",
        "您的全名（作为签名）",
    ),
    (
        "st_confirm",
        "I confirm that what I say is true",
        "أؤكد أن ما أقوله صحيح",
        "Confirmo que lo que digo es cierto",
        "我确认以上所述属实",
    ),
    (
        "st_thanks",
        "Thank you: your statement is with our claims team.",
        "شكراً: وصلت إفادتك إلى فريق المطالبات لدينا.",
        "Gracias: tu declaración está con nuestro equipo de reclamaciones.",
        "谢谢，您的说明已提交给我们的理赔团队。",
    ),
    (
        "st_answered",
        "We already have your statement. Thank you.",
        "لدينا إفادتك بالفعل. شكراً.",
        "Ya tenemos tu declaración. Gracias.",
        "我们已收到您的说明，谢谢。",
    ),
    (
        "st_closed",
        "This claim is closed; nothing more is needed.",
        "أُغلقت هذه المطالبة؛ لا حاجة لشيء آخر.",
        "Esta reclamación está cerrada; no hace falta nada más.",
        "此理赔已结束，无需其他操作。",
    ),
];

fn word(lang: &str, key: &str) -> &'static str {
    let Some(row) = WORDS.iter().find(|w| w.0 == key) else { return "" };
    match lang {
        "ar" => row.2,
        "es" => row.3,
        "zh" => row.4,
        _ => row.1,
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn page(lang: &str, title: &str, body: &str) -> String {
    let dir = if lang == "ar" { "rtl" } else { "ltr" };
    format!(
        "<!doctype html><html lang=\"{lang}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\">\
<title>{t}</title><style>body{{font-family:system-ui,sans-serif;margin:0 auto;max-width:36rem;padding:1rem;\
color:#1b1b1b}}h1{{font-size:1.4rem}}.now{{font-size:1.2rem;font-weight:600;padding:.8rem;background:#eef4ff;\
border-radius:.5rem}}ol{{list-style:none;padding:0}}li{{border-inline-start:3px solid #9bb5e8;padding:.3rem .8rem;\
margin:.4rem 0}}time{{color:#555;font-size:.85rem;display:block}}label{{display:block;margin:.5rem 0}}\
input[type=text],input[type=tel],input[type=date],textarea{{width:100%;padding:.5rem;box-sizing:border-box}}\
.err{{color:#a40000}}textarea{{font:inherit}}\
fieldset{{border:1px solid #ccd;border-radius:.5rem;margin:.8rem 0}}button{{padding:.7rem 1.4rem;font-size:1rem}}\
</style></head><body>{body}</body></html>",
        t = esc(title)
    )
}

fn when(t: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), t.month() as u8, t.day(), t.hour(), t.minute())
}

fn html(status: StatusCode, lang: &str, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    if let Ok(v) = header::HeaderValue::from_str(lang) {
        r.headers_mut().insert(header::CONTENT_LANGUAGE, v);
    }
    r
}

pub async fn track(State(s): State<Arc<AppState>>, Path(number): Path<String>, headers: HeaderMap) -> Response {
    let lang = language_of(&headers);
    let title = word(lang, "title");
    let view = match s.app.tracking().tracking_by_number(&number).await {
        Ok(v) => v,
        Err(codflow_app::Error::NotFound(_)) => {
            let body = format!("<h1>{title}</h1><p>{}</p>", word(lang, "not_found"));
            return html(StatusCode::NOT_FOUND, lang, page(lang, title, &body));
        }
        Err(e) => return crate::ApiError::from(e).into_response(),
    };
    let t = &view.tracked;
    let mut body = format!(
        "<h1>{title}</h1><p><strong>{}</strong></p><p class=\"now\">{}: {}</p>",
        esc(&t.tracking_number),
        word(lang, "now"),
        word(lang, t.progress.status.status_str()),
    );
    if !matches!(
        t.progress.status,
        codflow_domain::ShipmentStatus::Delivered | codflow_domain::ShipmentStatus::Returned
    ) {
        body.push_str(&format!("<p>{}: {}</p>", word(lang, "eta"), view.eta.date()));
    }
    body.push_str(&format!("<h2>{}</h2><ol>", word(lang, "history")));
    // Newest first; locations are towns and facilities, never the buyer's street.
    for e in view.events.iter().rev() {
        let place = e.location.as_deref().map(|l| format!(" · {}", esc(l))).unwrap_or_default();
        body.push_str(&format!(
            "<li><time datetime=\"{}\">{}</time>{}{place}</li>",
            e.at.unix_timestamp(),
            when(e.at),
            word(lang, e.status.status_str())
        ));
    }
    body.push_str("</ol>");
    html(StatusCode::OK, lang, page(lang, title, &body))
}

/// A refused link or answer as a page in the buyer's language: tampered 403, expired 410, answered twice 409,
/// the matter moved on 409.
fn link_error(lang: &str, title_key: &str, e: codflow_app::Error, answered: &str, moved_on: &str) -> Response {
    let (status, key) = match &e {
        codflow_app::Error::Unauthorized => (StatusCode::FORBIDDEN, "invalid"),
        codflow_app::Error::Conflict { kind: codflow_app::ConflictKind::LinkExpired, .. } => {
            (StatusCode::GONE, "expired")
        }
        codflow_app::Error::Conflict { kind: codflow_app::ConflictKind::AlreadyAnswered, .. } => {
            (StatusCode::CONFLICT, answered)
        }
        codflow_app::Error::Conflict { .. } => (StatusCode::CONFLICT, moved_on),
        codflow_app::Error::NotFound(_) => (StatusCode::NOT_FOUND, "invalid"),
        _ => return crate::ApiError::from(e).into_response(),
    };
    let title = word(lang, title_key);
    html(status, lang, page(lang, title, &format!("<h1>{title}</h1><p>{}</p>", word(lang, key))))
}

fn ndr_error(lang: &str, e: codflow_app::Error) -> Response {
    link_error(lang, "ndr_title", e, "answered", "moved_on")
}

pub async fn ndr_form(State(s): State<Arc<AppState>>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let asked = headers.contains_key(header::ACCEPT_LANGUAGE);
    let p = match s.app.tracking().ndr_page(&token).await {
        Ok(p) => p,
        Err(e) => return ndr_error(language_of(&headers), e),
    };
    // The buyer's language from their country, unless the browser asks for one we have.
    let lang = if asked && language_of(&headers) != "en" { language_of(&headers) } else { p.language };
    let title = word(lang, "ndr_title");
    if p.answered.is_some() {
        return html(
            StatusCode::OK,
            lang,
            page(lang, title, &format!("<h1>{title}</h1><p>{}</p>", word(lang, "answered"))),
        );
    }
    let w = |k| word(lang, k);
    let cash =
        p.cod.map(|m| format!("<p>{}: <strong>{}</strong></p>", w("cash"), esc(&m.to_string()))).unwrap_or_default();
    let address = p.address_lines.iter().map(|l| esc(l)).collect::<Vec<_>>().join("<br>");
    let body = format!(
        "<h1>{title}</h1><p>{intro}</p><p>{order} {oref} · {tn}</p>{cash}\
<form method=\"post\"><fieldset><label><input type=\"radio\" name=\"action\" value=\"reattempt\" checked> {re}</label>\
<p>{address}</p><label>{day}<input type=\"date\" name=\"day\"></label><label>{phone}<input type=\"tel\" name=\"phone\"></label>\
<label><input type=\"checkbox\" name=\"cash_ready\" value=\"yes\"> {ready}</label></fieldset>\
<fieldset><label><input type=\"radio\" name=\"action\" value=\"change_address\"> {ca}</label>\
<label>{street}<input type=\"text\" name=\"line1\"></label><label>{city}<input type=\"text\" name=\"city\"></label></fieldset>\
<fieldset><label><input type=\"radio\" name=\"action\" value=\"return\"> {ret}</label></fieldset>\
<button type=\"submit\">{send}</button></form>",
        intro = w("ndr_intro"),
        order = w("order"),
        oref = esc(&p.order_ref),
        tn = esc(&p.tracking_number),
        re = w("reattempt"),
        day = w("day"),
        phone = w("phone"),
        ready = w("cash_ready"),
        ca = w("change_address"),
        street = w("street"),
        city = w("city"),
        ret = w("return"),
        send = w("send"),
    );
    html(StatusCode::OK, lang, page(lang, title, &body))
}

pub async fn ndr_submit(
    State(s): State<Arc<AppState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let lang = match s.app.tracking().ndr_page(&token).await {
        Ok(p) => p.language,
        Err(e) => return ndr_error(language_of(&headers), e),
    };
    let get = |k: &str| f.get(k).cloned().filter(|v| !v.trim().is_empty());
    let answer = NdrAnswer {
        action: get("action").unwrap_or_default(),
        phone: get("phone"),
        day: get("day"),
        cash_ready: f.contains_key("cash_ready"),
        line1: get("line1"),
        line2: get("line2"),
        city: get("city"),
    };
    let title = word(lang, "ndr_title");
    match s.app.tracking().ndr_answer(&token, answer).await {
        Ok(req) => {
            // Thanked for what really happened: the carrier has it, or we keep it to pass on.
            let said = if req.status == "sent" { word(lang, "thanks") } else { word(lang, "kept") };
            html(StatusCode::OK, lang, page(lang, title, &format!("<h1>{title}</h1><p>{said}</p>")))
        }
        Err(codflow_app::Error::Invalid(errs)) => {
            let list: String =
                errs.0.iter().map(|e| format!("<li>{}: {}</li>", esc(&e.path), esc(&e.message))).collect();
            html(StatusCode::UNPROCESSABLE_ENTITY, lang, page(lang, title, &format!("<h1>{title}</h1><ul>{list}</ul>")))
        }
        Err(e) => ndr_error(lang, e),
    }
}

fn statement_error(lang: &str, e: codflow_app::Error) -> Response {
    link_error(lang, "st_title", e, "st_answered", "st_closed")
}

/// The statement form, with what the buyer typed kept and the fields refused named.
fn statement_form(
    lang: &str,
    p: &codflow_app::claim_statement::StatementPage,
    kept: (&str, &str),
    errors: &[(String, String)],
) -> String {
    let w = |k| word(lang, k);
    let intro =
        if p.reason == codflow_domain::claims::ClaimReason::Lost { "st_intro_lost" } else { "st_intro_damaged" };
    let list: String = errors.iter().map(|(f, m)| format!("<li>{}: {}</li>", esc(f), esc(m))).collect();
    let errors = if list.is_empty() { String::new() } else { format!("<ul class=\"err\" id=\"errors\">{list}</ul>") };
    format!(
        "<h1>{title}</h1><p>{intro}</p><p>{order} {oref} · {tn}</p>{errors}\
<form method=\"post\" enctype=\"multipart/form-data\"><label>{desc}<textarea name=\"description\" rows=\"6\" \
maxlength=\"2000\" required>{d}</textarea></label><label>{photos}<input type=\"file\" name=\"photo\" \
accept=\"image/jpeg,image/png,image/webp\" multiple></label><label>{name}<input type=\"text\" name=\"signed_name\" \
value=\"{n}\" maxlength=\"100\" required></label><label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> \
{confirm}</label><button type=\"submit\">{send}</button></form>",
        title = w("st_title"),
        intro = w(intro),
        order = w("order"),
        oref = esc(&p.order_ref),
        tn = esc(&p.tracking_number),
        desc = w("st_description"),
        d = esc(kept.0),
        photos = w("st_photos"),
        name = w("st_name"),
        n = esc(kept.1),
        confirm = w("st_confirm"),
        send = w("send"),
    )
}

pub async fn statement_get(State(s): State<Arc<AppState>>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let asked = headers.contains_key(header::ACCEPT_LANGUAGE);
    let p = match s.app.finance().claim_statement_page(&token).await {
        Ok(p) => p,
        Err(e) => return statement_error(language_of(&headers), e),
    };
    let lang = if asked && language_of(&headers) != "en" { language_of(&headers) } else { p.language };
    let title = word(lang, "st_title");
    if p.answered.is_some() {
        let body = format!("<h1>{title}</h1><p>{}</p>", word(lang, "st_answered"));
        return html(StatusCode::OK, lang, page(lang, title, &body));
    }
    html(StatusCode::OK, lang, page(lang, title, &statement_form(lang, &p, ("", ""), &[])))
}

pub async fn statement_post(
    State(s): State<Arc<AppState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    mut form: axum::extract::Multipart,
) -> Response {
    let asked = headers.contains_key(header::ACCEPT_LANGUAGE);
    let p = match s.app.finance().claim_statement_page(&token).await {
        Ok(p) => p,
        Err(e) => return statement_error(language_of(&headers), e),
    };
    let lang = if asked && language_of(&headers) != "en" { language_of(&headers) } else { p.language };
    let title = word(lang, "st_title");
    let mut input = codflow_app::claim_statement::StatementInput::default();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let errors = [("form".to_owned(), e.body_text())];
                let body = statement_form(lang, &p, ("", ""), &errors);
                return html(StatusCode::BAD_REQUEST, lang, page(lang, title, &body));
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let Ok(bytes) = field.bytes().await else {
            let errors = [("form".to_owned(), "the upload did not arrive whole".to_owned())];
            return html(
                StatusCode::BAD_REQUEST,
                lang,
                page(lang, title, &statement_form(lang, &p, ("", ""), &errors)),
            );
        };
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "description" => input.description = text(),
            "signed_name" => input.signed_name = text(),
            "confirm" => input.confirmed = !bytes.is_empty(),
            "photo" => input.photos.push(bytes.to_vec()),
            _ => {}
        }
    }
    let kept = (input.description.clone(), input.signed_name.clone());
    match s.app.finance().submit_claim_statement(&token, input, lang).await {
        Ok(()) => html(
            StatusCode::OK,
            lang,
            page(lang, title, &format!("<h1>{title}</h1><p>{}</p>", word(lang, "st_thanks"))),
        ),
        Err(codflow_app::Error::Invalid(errs)) => {
            let errors: Vec<(String, String)> = errs.0.iter().map(|e| (e.path.clone(), e.message.clone())).collect();
            let body = statement_form(lang, &p, (&kept.0, &kept.1), &errors);
            html(StatusCode::UNPROCESSABLE_ENTITY, lang, page(lang, title, &body))
        }
        Err(e) => statement_error(lang, e),
    }
}
