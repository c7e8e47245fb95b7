//! The tenant's logo heads the mails visitors receive, as an inline image beside the QR.

use genkan_core::notification::MessageKind;
use genkan_core::text::Locale;
use genkan_e2e::mail_parser::MimeHeaders as _;
use genkan_e2e::smtp::{Mode, SmtpSink};

use genkan_store::templates::TemplateParts;

use crate::harness::{Harness, NowUtc as _, config, sys};

/// A small PNG (a 4×2 red rectangle).
fn logo() -> Vec<u8> {
    let image = image::RgbaImage::from_pixel(4, 2, image::Rgba([200, 30, 30, 255]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    bytes.into_inner()
}

/// The inline images of a mail as (content id, bytes), and its HTML.
fn inline_images(data: &genkan_e2e::smtp::Received) -> (Vec<(String, Vec<u8>)>, String) {
    let parsed = data.parsed();
    let images = parsed
        .parts
        .iter()
        .filter(|p| p.content_type().is_some_and(|c| c.ctype() == "image"))
        .filter_map(|p| Some((p.content_id()?.to_owned(), p.contents().to_vec())))
        .collect();
    (images, parsed.body_html(0).unwrap().into_owned())
}

#[tokio::test]
async fn invitations_carry_the_tenants_logo_inline_once_it_is_uploaded() {
    let smtp = SmtpSink::start(Mode::Accept).await;
    let h = Harness::new(config(Some(smtp.port))).await;

    // Without a logo: only the QR code is inline, and no logo is referenced.
    h.appointment(&["Sato Hanako"]).await;
    while h.deliver().await > 0 {}
    let before = smtp.messages();
    assert_eq!(before.len(), 1);
    let (images, html) = inline_images(&before[0]);
    assert_eq!(
        images.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        ["pass-qr"]
    );
    assert!(!html.contains("cid:tenant-logo"));

    // With a logo: the same bytes travel inline and the header shows them.
    let png = logo();
    h.store
        .set_logo(
            h.tenant,
            Some(png.clone()),
            sys(h.tenant, h.clock.now_utc()),
        )
        .await
        .unwrap();
    h.appointment(&["Suzuki Ichiro"]).await;
    while h.deliver().await > 0 {}
    let after = smtp.messages();
    assert_eq!(after.len(), 2);
    let (images, html) = inline_images(&after[1]);
    let ids: Vec<&str> = images.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["tenant-logo", "pass-qr"]);
    assert_eq!(images[0].1, png, "the uploaded logo, byte for byte");
    assert!(html.contains("src=\"cid:tenant-logo\""), "{html}");
    assert!(html.contains("src=\"cid:pass-qr\""));
    assert!(!html.contains("data:"), "no data: URLs");

    // A tenant's own template that does not show the logo gets no stray logo part.
    for locale in [Locale::Ja, Locale::En] {
        let parts = TemplateParts {
            html: Some("<p>{{ visitor_name }}</p><img src=\"cid:{{ qr_cid }}\">".to_owned()),
            ..TemplateParts::default()
        };
        h.store
            .set_template(
                h.tenant,
                MessageKind::Invitation,
                locale,
                parts,
                sys(h.tenant, h.clock.now_utc()),
            )
            .await
            .unwrap();
    }
    h.appointment(&["Takahashi Jun"]).await;
    while h.deliver().await > 0 {}
    let custom = smtp.messages();
    assert_eq!(custom.len(), 3);
    let (images, html) = inline_images(&custom[2]);
    assert_eq!(
        images.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        ["pass-qr"]
    );
    assert!(html.starts_with("<p>Takahashi Jun</p>"), "{html}");
}
