//! The users screen: invitations, edits, disabling, resending, groups.

use genkan_core::access::Role;

use crate::helpers::{ADMIN, HOST, OTHER_ADMIN, TestApp};

#[tokio::test]
async fn inviting_a_user_queues_the_invitation_mail() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let page = admin
        .post(
            "/users",
            &[
                ("email", "Newbie@Acme.example"),
                ("name", "Nina Newbie"),
                ("role", "receptionist"),
            ],
        )
        .await;
    page.assert_redirect("/users?notice=invited");
    let id = app.user_id("newbie@acme.example").await;
    let user = app.store.user(app.tenant, id).await.unwrap();
    assert_eq!(
        (user.status.as_str(), user.role),
        ("invited", Role::Receptionist)
    );
    let mails = app.store.user_messages(app.tenant, id).await.unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(
        (mails[0].kind.as_str(), mails[0].status.as_str()),
        ("user_invitation", "queued")
    );
    let list = admin.get("/users?notice=invited").await;
    assert!(list.body.contains("The invitation was sent."));
    assert!(list.body.contains("Nina Newbie") && list.body.contains("badge invited"));
    let detail = admin.get(&format!("/users/{id}")).await;
    assert!(
        detail.body.contains("Waiting to be sent"),
        "the mail shows on the user's page"
    );
}

#[tokio::test]
async fn the_user_list_shows_last_sign_in_in_the_tenants_zone_with_offset() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let list = admin.get("/users").await;
    // Signed in at 01:00 UTC, shown in Tokyo time.
    assert!(
        list.body.contains("2026-11-23 10:00 (+09:00)"),
        "{}",
        list.body
    );
    assert!(list.body.contains("Hana Host"));
}

#[tokio::test]
async fn inviting_an_address_that_exists_shows_taken_next_to_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let page = admin
        .post(
            "/users",
            &[("email", HOST), ("name", "Second Hana"), ("role", "host")],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.is_invalid("email"));
    assert_eq!(
        page.field_error("email").as_deref(),
        Some("This is already in use.")
    );
    assert_eq!(app.store.users(app.tenant).await.unwrap().len(), 3);
    // The same address in another tenant is a different person.
    let elsewhere = admin
        .post(
            "/users",
            &[
                ("email", OTHER_ADMIN),
                ("name", "Otto Here"),
                ("role", "host"),
            ],
        )
        .await;
    elsewhere.assert_redirect("/users?notice=invited");
}

#[tokio::test]
async fn invalid_invitation_fields_are_shown_next_to_each_field_and_stay_inert() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let page = admin
        .post(
            "/users",
            &[
                ("email", "<script>alert(1)</script>"),
                ("name", ""),
                ("role", "emperor"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        page.field_error("email").as_deref(),
        Some("This is not a valid e-mail address.")
    );
    assert_eq!(
        page.field_error("name").as_deref(),
        Some("Please fill this in.")
    );
    assert_eq!(
        page.field_error("role").as_deref(),
        Some("Choose one from the list.")
    );
    assert!(!page.body.contains("<script>alert(1)"));
    assert!(page.body.contains("&#60;script&#62;alert(1)"));
    let name = admin
        .post(
            "/users",
            &[
                ("email", "x@acme.example"),
                ("name", "<img src=x onerror=alert(1)>"),
                ("role", "host"),
            ],
        )
        .await;
    name.assert_redirect("/users");
    let list = admin.get("/users").await;
    assert!(!list.body.contains("<img src=x"));
    assert!(list.body.contains("&#60;img src=x onerror=alert(1)&#62;"));
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_on_their_next_request() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let host = app.sign_in(HOST).await;
    let other_host_browser = app.sign_in(HOST).await;
    assert_eq!(host.get("/account").await.status, 200);
    let id = app.user_id(HOST).await;
    admin
        .post(&format!("/users/{id}/disable"), &[])
        .await
        .assert_redirect(&format!("/users/{id}"));
    for b in [&host, &other_host_browser] {
        b.get("/account").await.assert_redirect("/login");
        assert_eq!(
            b.post("/account/language", &[("language", "en")])
                .await
                .status,
            303
        );
    }
    assert!(
        app.sign_in_with(HOST, crate::helpers::PASSWORD)
            .await
            .is_none(),
        "a disabled user cannot sign in"
    );
    assert_eq!(
        app.store.user(app.tenant, id).await.unwrap().status,
        "disabled"
    );
    admin
        .post(&format!("/users/{id}/enable"), &[])
        .await
        .assert_redirect(&format!("/users/{id}"));
    assert_eq!(
        app.store.user(app.tenant, id).await.unwrap().status,
        "active"
    );
    assert!(
        app.sign_in_with(HOST, crate::helpers::PASSWORD)
            .await
            .is_some()
    );
}

#[tokio::test]
async fn an_admin_cannot_demote_or_disable_themselves() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let me = app.user_id(ADMIN).await;
    let demote = admin
        .post(
            &format!("/users/{me}"),
            &[("name", "Aiko Admin"), ("role", "host")],
        )
        .await;
    assert_eq!(demote.status, 422);
    assert_eq!(
        demote.field_error("role").as_deref(),
        Some("You cannot remove your own administrator role.")
    );
    let disable = admin.post(&format!("/users/{me}/disable"), &[]).await;
    assert_eq!(disable.status, 422);
    assert!(disable.body.contains("You cannot disable yourself"));
    let stored = app.store.user(app.tenant, me).await.unwrap();
    assert_eq!(
        (stored.role, stored.status.as_str()),
        (Role::Admin, "active")
    );
    assert_eq!(admin.get("/users").await.status, 200, "still signed in");
    // Renaming oneself is fine.
    admin
        .post(
            &format!("/users/{me}"),
            &[("name", "Aiko A."), ("role", "admin")],
        )
        .await
        .assert_redirect(&format!("/users/{me}?notice=saved"));
    assert_eq!(
        app.store.user(app.tenant, me).await.unwrap().display_name,
        "Aiko A."
    );
}

#[tokio::test]
async fn editing_a_user_changes_name_and_role_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let host = app.sign_in(HOST).await;
    assert_eq!(host.get("/users").await.status, 403);
    let id = app.user_id(HOST).await;
    admin
        .post(
            &format!("/users/{id}"),
            &[("name", "Hana Chief"), ("role", "admin")],
        )
        .await
        .assert_redirect(&format!("/users/{id}"));
    let stored = app.store.user(app.tenant, id).await.unwrap();
    assert_eq!(
        (stored.display_name.as_str(), stored.role),
        ("Hana Chief", Role::Admin)
    );
    assert_eq!(
        host.get("/users").await.status,
        200,
        "the new role applies to the open session"
    );
    let bad = admin
        .post(
            &format!("/users/{id}"),
            &[("name", "a\u{202e}b"), ("role", "admin")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.is_invalid("name"));
}

#[tokio::test]
async fn resending_an_invitation_queues_another_mail() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    admin
        .post(
            "/users",
            &[
                ("email", "late@acme.example"),
                ("name", "Late Larry"),
                ("role", "host"),
            ],
        )
        .await
        .assert_redirect("/users");
    let id = app.user_id("late@acme.example").await;
    admin
        .post(&format!("/users/{id}/resend"), &[])
        .await
        .assert_redirect(&format!("/users/{id}?notice=resent"));
    assert_eq!(
        app.store.user_messages(app.tenant, id).await.unwrap().len(),
        2
    );
    // An active user has nothing to resend.
    let host = app.user_id(HOST).await;
    assert_eq!(
        admin
            .post(&format!("/users/{host}/resend"), &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn groups_are_created_and_take_only_members_of_the_tenant() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let created = admin.post("/users/groups", &[("name", "Sales")]).await;
    created.assert_redirect("/users/groups/");
    let group: i64 = created.location.unwrap()["/users/groups/".len()..]
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let host = app.user_id(HOST).await;
    let foreign = app.user_id_in(app.other, OTHER_ADMIN).await;
    admin
        .post(
            &format!("/users/groups/{group}"),
            &[
                ("member", &host.to_string()),
                ("member", &foreign.to_string()),
                ("member", "junk"),
            ],
        )
        .await
        .assert_redirect(&format!("/users/groups/{group}"));
    let stored = app.store.group(app.tenant, group).await.unwrap();
    assert_eq!(stored.members, vec![host]);
    let again = admin.post("/users/groups", &[("name", "Sales")]).await;
    assert_eq!(again.status, 422);
    assert_eq!(
        again.field_error("name").as_deref(),
        Some("This is already in use.")
    );
    let list = admin.get("/users").await;
    let row = list
        .body
        .split(&format!("data-user=\"{host}\""))
        .nth(1)
        .unwrap();
    assert!(row.split("</tr>").next().unwrap().contains("Sales"));
}
