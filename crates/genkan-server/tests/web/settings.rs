//! Tenant settings: validation next to fields, logos re-encoded, the Slack webhook.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, RgbImage};

use crate::helpers::{ADMIN, FilePart, TestApp};

fn valid<'a>() -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", "Acme Holdings"),
        ("default_locale", "en"),
        ("time_zone", "Europe/London"),
        ("primary_color", "#AA3300"),
        ("accent_color", "#00aa33"),
        ("pass_policy", "window"),
        ("pass_early_minutes", "30"),
        ("notify_email", "1"),
    ]
}

#[tokio::test]
async fn settings_validation_errors_are_shown_next_to_the_fields() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let page = admin
        .post(
            "/settings",
            &[
                ("name", ""),
                ("default_locale", "fr"),
                ("time_zone", "Nowhere/City"),
                ("primary_color", "red"),
                ("accent_color", "#12345"),
                ("pass_policy", "forever"),
                ("pass_early_minutes", "999"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    for (field, text) in [
        ("name", "Please fill this in."),
        ("default_locale", "Choose Japanese or English."),
        (
            "time_zone",
            "Unknown time zone. Use an IANA name such as Asia/Tokyo.",
        ),
        ("primary_color", "Use a colour of the form #rrggbb."),
        ("accent_color", "Use a colour of the form #rrggbb."),
        ("pass_policy", "Choose one from the list."),
        (
            "pass_early_minutes",
            "Enter a whole number of minutes from 0 to 240.",
        ),
    ] {
        assert!(page.is_invalid(field), "{field} is marked");
        assert_eq!(page.field_error(field).as_deref(), Some(text), "{field}");
    }
    let stored = app.store.tenant_settings(app.tenant).await.unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.time_zone.name()),
        ("Acme Corp", "Asia/Tokyo")
    );
    let injected = admin
        .post(
            "/settings",
            &[
                ("name", "Acme"),
                ("default_locale", "en"),
                ("time_zone", "UTC"),
                ("primary_color", "#fff;}body{x:y"),
                ("accent_color", "#000000"),
                ("pass_policy", "day"),
            ],
        )
        .await;
    assert_eq!(injected.status, 422);
    assert!(injected.is_invalid("primary_color"));
}

#[tokio::test]
async fn valid_settings_are_saved_and_reach_the_brand_stylesheet() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    admin
        .post("/settings", &valid())
        .await
        .assert_redirect("/settings?notice=saved");
    let s = app.store.tenant_settings(app.tenant).await.unwrap();
    assert_eq!(s.name, "Acme Holdings");
    assert_eq!(s.default_locale.as_str(), "en");
    assert_eq!(s.time_zone.name(), "Europe/London");
    assert_eq!(
        (s.primary_color.as_str(), s.accent_color.as_str()),
        ("#aa3300", "#00aa33")
    );
    assert_eq!(
        (s.pass_policy.as_str(), s.pass_early_minutes),
        ("window", 30)
    );
    assert!(s.notify_email && !s.notify_slack && !s.checkout_enabled);
    let css = admin.get("/brand.css").await;
    assert!(css.body.contains("--brand:#aa3300"));
}

fn image_bytes(w: u32, h: u32, format: ImageFormat) -> Vec<u8> {
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, 90])
    }));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

#[tokio::test]
async fn an_uploaded_logo_is_reencoded_as_a_small_png_and_can_be_removed() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let jpeg = image_bytes(1024, 768, ImageFormat::Jpeg);
    assert!(jpeg.len() < 512 * 1024);
    admin
        .upload(
            "/settings/logo",
            &[],
            &FilePart {
                field: "logo",
                name: "logo.jpg",
                content_type: "image/jpeg",
                bytes: &jpeg,
            },
        )
        .await
        .assert_redirect("/settings?notice=saved");
    let (status, content_type, served) = admin.get_bytes("/logo.png").await;
    assert_eq!((status, content_type.as_str()), (200, "image/png"));
    assert_eq!(image::guess_format(&served).unwrap(), ImageFormat::Png);
    let decoded = image::load_from_memory(&served).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (512, 384));
    assert_eq!(
        app.store.logo(app.tenant).await.unwrap().unwrap(),
        served,
        "what is stored is the re-encoded PNG"
    );
    assert!(
        admin
            .get("/settings")
            .await
            .body
            .contains("src=\"/logo.png\"")
    );
    admin
        .post("/settings/logo/remove", &[])
        .await
        .assert_redirect("/settings");
    assert!(app.store.logo(app.tenant).await.unwrap().is_none());
}

#[tokio::test]
async fn a_file_that_is_not_a_png_or_jpeg_is_refused_as_a_logo() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>";
    let page = admin
        .upload(
            "/settings/logo",
            &[],
            &FilePart {
                field: "logo",
                name: "logo.png",
                content_type: "image/png",
                bytes: svg,
            },
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("logo").as_deref(),
        Some("This is not a PNG or JPEG image.")
    );
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    let page = admin
        .upload(
            "/settings/logo",
            &[],
            &FilePart {
                field: "logo",
                name: "logo.gif",
                content_type: "image/gif",
                bytes: gif,
            },
        )
        .await;
    assert_eq!(page.status, 422);
    let huge = vec![0x89u8; 600 * 1024];
    let page = admin
        .upload(
            "/settings/logo",
            &[],
            &FilePart {
                field: "logo",
                name: "big.png",
                content_type: "image/png",
                bytes: &huge,
            },
        )
        .await;
    assert_eq!(page.status, 413);
    assert_eq!(
        page.field_error("logo").as_deref(),
        Some("The file is larger than 512 KB.")
    );
    let beyond = vec![0u8; 2 * 1024 * 1024];
    let page = admin
        .upload(
            "/settings/logo",
            &[],
            &FilePart {
                field: "logo",
                name: "huge.png",
                content_type: "image/png",
                bytes: &beyond,
            },
        )
        .await;
    assert_eq!(
        page.status, 413,
        "a body past the route's limit is refused outright"
    );
    assert!(app.store.logo(app.tenant).await.unwrap().is_none());
}

#[tokio::test]
async fn a_slack_webhook_is_validated_and_never_shown() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    for (url, text) in [
        ("not a url", "This is not a valid webhook URL."),
        ("http://hooks.example/x", "Only https:// URLs are accepted."),
        (
            "https://10.1.2.3/hook",
            "This address is inside a private network; the operator does not allow it.",
        ),
        (
            "https://127.0.0.1/hook",
            "This address is inside a private network; the operator does not allow it.",
        ),
    ] {
        let page = admin.post("/settings/slack", &[("slack_url", url)]).await;
        assert_eq!(page.status, 422, "{url}");
        assert_eq!(
            page.field_error("slack_url").as_deref(),
            Some(text),
            "{url}"
        );
    }
    assert!(
        !app.store
            .tenant_settings(app.tenant)
            .await
            .unwrap()
            .slack_configured
    );
    let secret_url = "https://8.8.8.8/services/T000/B000/SecretToken123";
    admin
        .post("/settings/slack", &[("slack_url", secret_url)])
        .await
        .assert_redirect("/settings?notice=saved");
    assert_eq!(
        app.store
            .slack_webhook(app.tenant)
            .await
            .unwrap()
            .as_deref(),
        Some(secret_url)
    );
    let page = admin.get("/settings").await;
    assert!(page.body.contains("data-slack-state=\"configured\""));
    assert!(!page.body.contains("SecretToken123") && !page.body.contains("8.8.8.8"));
    admin
        .post("/settings/slack/clear", &[])
        .await
        .assert_redirect("/settings");
    assert!(app.store.slack_webhook(app.tenant).await.unwrap().is_none());
    assert!(
        admin
            .get("/settings")
            .await
            .body
            .contains("data-slack-state=\"none\"")
    );
}
