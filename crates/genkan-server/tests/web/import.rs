//! Bulk import of users from CSV: all or nothing, UTF-8 or Shift_JIS, limits.

use crate::helpers::{ADMIN, Browser, FilePart, HOST, Page, TestApp};

async fn import(admin: &Browser, bytes: &[u8]) -> Page {
    admin
        .upload(
            "/users/import",
            &[],
            &FilePart {
                field: "file",
                name: "users.csv",
                content_type: "text/csv",
                bytes,
            },
        )
        .await
}

async fn queued(app: &TestApp) -> u64 {
    app.store
        .outbox_counts(Some(app.tenant))
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test]
async fn a_csv_import_creates_every_user_and_queues_every_invitation() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let mut csv = vec![0xEF, 0xBB, 0xBF];
    csv.extend_from_slice(
        "email,display_name,role,groups\r\n\
         one@acme.example,One Person,host,Sales;Tokyo\r\n\
         two@acme.example,Two Person,receptionist,Sales\r\n\
         three@acme.example,\"Three, Person\",admin,\r\n"
            .as_bytes(),
    );
    let page = import(&admin, &csv).await;
    page.assert_redirect("/users/import?notice=imported&users=3&groups=2");
    let summary = admin.get(page.location.as_deref().unwrap()).await;
    assert!(
        summary
            .body
            .contains("3 users were invited; 2 new groups were created.")
    );
    for email in ["one@acme.example", "two@acme.example", "three@acme.example"] {
        let id = app.user_id(email).await;
        assert_eq!(
            app.store.user(app.tenant, id).await.unwrap().status,
            "invited"
        );
        let mails = app.store.user_messages(app.tenant, id).await.unwrap();
        assert_eq!(mails.len(), 1, "{email} has its invitation queued");
        assert_eq!(mails[0].kind, "user_invitation");
    }
    let three = app
        .store
        .user(app.tenant, app.user_id("three@acme.example").await)
        .await
        .unwrap();
    assert_eq!(three.display_name, "Three, Person");
    let groups = app.store.groups(app.tenant).await.unwrap();
    let sales = groups.iter().find(|g| g.name == "Sales").unwrap();
    assert_eq!(sales.members.len(), 2);
    assert_eq!(
        groups
            .iter()
            .find(|g| g.name == "Tokyo")
            .unwrap()
            .members
            .len(),
        1
    );
}

#[tokio::test]
async fn one_bad_row_imports_nothing_and_reports_the_row() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let before = queued(&app).await;
    let csv = "email,display_name,role,groups\n\
               ok1@acme.example,Okay One,host,NewGroup\n\
               ok2@acme.example,Okay Two,host,\n\
               not-an-address,Broken Row,host,\n";
    let page = import(&admin, csv.as_bytes()).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Nothing was imported"));
    let report = page.body.split("data-row-problems").nth(1).unwrap();
    assert!(
        report.contains(
            "<td>4</td><td><code>email</code></td><td>This is not a valid e-mail address.</td>"
        ),
        "{report}"
    );
    assert_eq!(
        app.store.users(app.tenant).await.unwrap().len(),
        3,
        "no user was created"
    );
    assert!(
        app.store.groups(app.tenant).await.unwrap().is_empty(),
        "no group was created"
    );
    assert_eq!(queued(&app).await, before, "no mail was queued");
}

#[tokio::test]
async fn addresses_already_in_the_tenant_and_repeated_in_the_file_are_row_errors() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let csv = format!(
        "email,display_name,role\n\
         fresh@acme.example,Fresh,host\n\
         {HOST},Hana Again,host\n\
         fresh@acme.example,Fresh Twice,host\n"
    );
    let page = import(&admin, csv.as_bytes()).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains(
        "<td>3</td><td><code>email</code></td><td>A user with this address already exists.</td>"
    ));
    assert!(page.body.contains(
        "<td>4</td><td><code>email</code></td><td>The same address is already in row 2.</td>"
    ));
    assert_eq!(app.store.users(app.tenant).await.unwrap().len(), 3);
}

#[tokio::test]
async fn shift_jis_files_are_read() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let text = "email,display_name,role,groups\r\nsato@acme.example,佐藤 花子,担当者,営業部\r\nsuzuki@acme.example,鈴木 一郎,受付担当,\r\n";
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the test file really is Shift_JIS"
    );
    import(&admin, &bytes)
        .await
        .assert_redirect("/users/import?notice=imported&users=2&groups=1");
    let sato = app
        .store
        .user(app.tenant, app.user_id("sato@acme.example").await)
        .await
        .unwrap();
    assert_eq!(sato.display_name, "佐藤 花子");
    assert_eq!(sato.role, genkan_core::access::Role::Host);
    let suzuki = app
        .store
        .user(app.tenant, app.user_id("suzuki@acme.example").await)
        .await
        .unwrap();
    assert_eq!(suzuki.role, genkan_core::access::Role::Receptionist);
    assert_eq!(
        app.store.groups(app.tenant).await.unwrap()[0].name,
        "営業部"
    );
}

#[tokio::test]
async fn forbidden_and_unknown_columns_are_refused_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let csv = "email,display_name,role,tenant_id,password,status,favourite_colour\n\
               evil@acme.example,Evil,admin,2,hunter2hunter2,active,red\n";
    let page = import(&admin, csv.as_bytes()).await;
    assert_eq!(page.status, 422);
    assert!(
        page.body
            .contains("These columns cannot be imported: tenant_id, password, status.")
    );
    assert!(page.body.contains("Unknown columns: favourite_colour."));
    assert_eq!(app.store.users(app.tenant).await.unwrap().len(), 3);
}

#[tokio::test]
async fn files_over_the_limits_get_a_friendly_answer() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let mut big = String::from("email,display_name,role\n");
    while big.len() <= 2 * 1024 * 1024 {
        big.push_str("padding@acme.example,Padding Padding Padding Padding Padding,host\n");
    }
    let page = import(&admin, big.as_bytes()).await;
    assert_eq!(page.status, 413);
    assert!(page.is_invalid("file"));
    assert!(
        page.field_error("file")
            .unwrap()
            .contains("larger than 2 MB")
    );
    let mut many = String::from("email,display_name,role\n");
    for i in 0..5001 {
        many.push_str(&format!("u{i}@acme.example,User {i},host\n"));
    }
    let page = import(&admin, many.as_bytes()).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("more than 5000 rows"));
    let garbage = import(&admin, &[0x82, 0xFF, 0xFE, 0x00, 0x81]).await;
    assert_eq!(garbage.status, 422);
    assert!(garbage.body.contains("neither UTF-8 nor Shift_JIS"));
    assert_eq!(app.store.users(app.tenant).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_full_file_of_five_thousand_rows_imports_in_one_go() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    let mut csv = String::from("email,display_name,role,groups\n");
    for i in 0..5000 {
        csv.push_str(&format!(
            "user{i}@acme.example,User {i},host,Team {}\n",
            i % 10
        ));
    }
    import(&admin, csv.as_bytes())
        .await
        .assert_redirect("/users/import?notice=imported&users=5000&groups=10");
    assert_eq!(app.store.users(app.tenant).await.unwrap().len(), 5003);
    assert_eq!(queued(&app).await, 5000);
}

#[tokio::test]
async fn imported_invitations_take_the_tenants_daily_mail_allowance_whole_or_not_at_all() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(ADMIN).await;
    // One invitation by hand leaves 4,999 of the day's 5,000 mails.
    admin
        .post(
            "/users",
            &[
                ("email", "single@acme.example"),
                ("name", "Single Person"),
                ("role", "host"),
            ],
        )
        .await;
    assert_eq!(queued(&app).await, 1, "the single invitation was queued");
    let file = |n: usize, prefix: &str| {
        let mut csv = String::from("email,display_name,role\n");
        for i in 0..n {
            csv.push_str(&format!("{prefix}{i}@acme.example,User {i},host\n"));
        }
        csv
    };
    let refused = import(&admin, file(5000, "big").as_bytes()).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(
        refused.body.contains(
            "would send 5000 invitations, but your organisation can send only 4999 more today"
        ),
        "{}",
        refused.body
    );
    assert_eq!(
        app.store.users(app.tenant).await.unwrap().len(),
        4,
        "nothing imported"
    );
    assert_eq!(queued(&app).await, 1, "no mail queued by the refused file");
    // A file that fits is imported and spends the rest of the day's allowance.
    import(&admin, file(4999, "fits").as_bytes())
        .await
        .assert_redirect("/users/import?notice=imported&users=4999&groups=0");
    assert_eq!(queued(&app).await, 5000);
    let one_more = import(&admin, file(1, "late").as_bytes()).await;
    assert_eq!(one_more.status, 429, "the day's mails are spent");
    let by_hand = admin
        .post(
            "/users",
            &[
                ("email", "late@acme.example"),
                ("name", "Late Person"),
                ("role", "host"),
            ],
        )
        .await;
    assert_eq!(
        by_hand.status, 429,
        "single invitations share the allowance"
    );
    // The next day the allowance is back.
    app.clock.advance(chrono::Duration::days(1));
    import(&admin, file(1, "next").as_bytes())
        .await
        .assert_redirect("/users/import?notice=imported&users=1&groups=0");
}
