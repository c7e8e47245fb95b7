//! What each message template may use: one function per message kind turns the
//! store's facts into the template's variables. The sample data of the template
//! editor goes through the same functions, so a template that renders with the
//! samples renders with real data too.

use chrono::{DateTime, Utc};
use genkan_store::messages::{ArrivalContext, InvitationContext, InvitationState};
use serde_json::{Value, json};

use super::render::safe_color;

/// Variables of invitations, updates, cancellations and reminders. `code` is the
/// formatted fallback code (empty where the message carries no pass); `logo_cid` names
/// the inline image of the tenant's logo when it has one.
pub fn invitation(
    ctx: &InvitationContext,
    code: &str,
    qr_cid: &str,
    logo_cid: Option<&str>,
) -> Value {
    let zone = ctx.time_zone;
    let local = |t: DateTime<Utc>| t.with_timezone(&zone.tz());
    let start = local(ctx.starts_at);
    let map_url = (!ctx.site_address.trim().is_empty()).then(|| {
        format!(
            "https://www.google.com/maps/search/?api=1&query={}",
            url::form_urlencoded::byte_serialize(ctx.site_address.as_bytes()).collect::<String>()
        )
    });
    let human = |t: DateTime<Utc>| local(t).format("%Y-%m-%d %H:%M").to_string();
    json!({
        "tenant_name": ctx.tenant_name,
        "visitor_name": ctx.visitor_name,
        "visitor_company": ctx.visitor_company,
        "host_name": ctx.host_name,
        "site_name": ctx.site_name,
        "site_address": ctx.site_address,
        "map_url": map_url,
        "title": ctx.title,
        "date": start.format("%Y-%m-%d").to_string(),
        "start": start.format("%H:%M").to_string(),
        "end": local(ctx.ends_at).format("%H:%M").to_string(),
        "offset": start.format("%:z").to_string(),
        "code": code,
        "valid_from": human(ctx.valid_from),
        "valid_until": human(ctx.valid_until),
        "qr_cid": qr_cid,
        "logo_cid": logo_cid,
        "color": safe_color(&ctx.primary_color),
    })
}

/// Reply links of an arrival alert, when the recipient may answer.
#[derive(Debug, Clone, Default)]
pub struct ReplyUrls {
    /// "I'm coming".
    pub coming: Option<String>,
    /// "Please wait in the lobby".
    pub wait: Option<String>,
    /// Until when they work (local time with offset).
    pub expires_at: String,
}

/// Variables of the host's arrival alert.
pub fn arrival(ctx: &ArrivalContext, reply: &ReplyUrls) -> Value {
    json!({
        "tenant_name": ctx.tenant_name,
        "host_name": ctx.host_name,
        "visitor_name": ctx.visitor_name,
        "visitor_company": ctx.visitor_company,
        "site_name": ctx.site_name,
        "kiosk_name": ctx.kiosk_name,
        "arrived_at": ctx.time_zone.format_human(ctx.checked_in_at),
        "title": ctx.title,
        "reply_coming_url": reply.coming,
        "reply_wait_url": reply.wait,
        "reply_expires_at": reply.expires_at,
    })
}

/// A delivery state in the host's language.
pub fn status_label(status: &str, ja: bool) -> &'static str {
    match (status, ja) {
        ("queued" | "sending", true) => "送信待ち（再試行中の場合があります）",
        ("queued" | "sending", false) => "waiting to be sent (possibly being retried)",
        ("sent", true) => "送信済み",
        ("sent", false) => "sent",
        ("delivered" | "acknowledged", true) => "配信済み",
        ("delivered" | "acknowledged", false) => "delivered",
        ("dead", true) => "配信失敗",
        ("dead", false) => "failed",
        (_, true) => "招待メールなし",
        (_, false) => "no invitation e-mail",
    }
}

/// Variables of the no-show notice: the appointment, the minutes waited and how
/// the invitation fared.
pub fn no_show(
    ctx: &InvitationContext,
    minutes: i64,
    state: Option<&InvitationState>,
    ja: bool,
) -> Value {
    let mut v = invitation(ctx, "", "", None);
    v["minutes"] = json!(minutes);
    v["invitation_status"] = json!(status_label(
        state.map_or("none", |s| s.status.as_str()),
        ja
    ));
    v["invitation_error"] = json!(state.and_then(|s| s.last_error.clone()));
    v
}

/// Variables of the notice that an invitation could not be delivered.
pub fn invitation_failed(ctx: &InvitationContext, error: &str, appointment_url: &str) -> Value {
    let mut v = invitation(ctx, "", "", None);
    v["error"] = json!(error);
    v["appointment_url"] = json!(appointment_url);
    v
}
