//! A small client for the server's HTTP APIs: one method per endpoint used by tests.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// An API client with an optional bearer credential.
#[derive(Clone)]
pub struct Api {
    /// Base URL.
    pub base: String,
    bearer: Option<String>,
    http: reqwest::Client,
}

/// Status and JSON body of an answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// Body as JSON (`Null` if empty or not JSON).
    pub body: Value,
}

impl Answer {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// Asserts a 2xx status and returns the body.
    pub fn ok(self) -> Value {
        assert!(
            self.status.is_success(),
            "expected success, got {} {}",
            self.status,
            self.body
        );
        self.body
    }
}

impl Api {
    /// A client for `base` using `bearer`.
    pub fn new(base: &str, bearer: Option<&str>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            bearer: bearer.map(str::to_owned),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    /// Any request.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = &self.bearer {
            req = req.bearer_auth(b);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let bytes = resp.bytes().await.unwrap();
        Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    /// PUT with a JSON body.
    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// `POST /api/v1/users`.
    pub async fn create_user(&self, email: &str, name: &str, role: &str) -> Answer {
        self.post(
            "/api/v1/users",
            json!({"email": email, "display_name": name, "role": role}),
        )
        .await
    }

    /// `POST /api/v1/users` with a password, so the user can sign in at once.
    pub async fn create_user_with_password(
        &self,
        email: &str,
        name: &str,
        role: &str,
        password: &str,
    ) -> Answer {
        self.post(
            "/api/v1/users",
            json!({"email": email, "display_name": name, "role": role, "password": password}),
        )
        .await
    }

    /// `POST /api/v1/sites`.
    pub async fn create_site(&self, name: &str, time_zone: &str, address: &str) -> Answer {
        self.post(
            "/api/v1/sites",
            json!({"name": name, "time_zone": time_zone, "address": address}),
        )
        .await
    }

    /// `GET /api/v1/sites`.
    pub async fn sites(&self) -> Answer {
        self.get("/api/v1/sites").await
    }

    /// `POST /api/v1/kiosks`.
    pub async fn create_kiosk(&self, site_id: i64, name: &str) -> Answer {
        self.post("/api/v1/kiosks", json!({"site_id": site_id, "name": name}))
            .await
    }

    /// `PUT /api/v1/settings/slack`.
    pub async fn set_slack(&self, url: &str) -> Answer {
        self.put("/api/v1/settings/slack", json!({"webhook_url": url}))
            .await
    }

    /// `POST /api/v1/appointments`.
    pub async fn create_appointment(&self, body: Value) -> Answer {
        self.post("/api/v1/appointments", body).await
    }

    /// `POST /api/v1/appointments?return_passes=true`: the answer carries each pass's
    /// QR token and code.
    pub async fn create_appointment_with_passes(&self, body: Value) -> Answer {
        self.post("/api/v1/appointments?return_passes=true", body)
            .await
    }

    /// `POST /api/kiosk/v1/pair`: exchanges a pairing code for a kiosk credential.
    pub async fn pair_kiosk(&self, pairing_code: &str, device_name: &str) -> Answer {
        self.post(
            "/api/kiosk/v1/pair",
            json!({"pairing_code": pairing_code, "device_name": device_name}),
        )
        .await
    }

    /// `GET /api/v1/visits`.
    pub async fn visits(&self) -> Answer {
        self.get("/api/v1/visits").await
    }

    /// `POST /api/kiosk/v1/check-in`.
    pub async fn check_in(&self, body: Value) -> Answer {
        self.post("/api/kiosk/v1/check-in", body).await
    }

    /// `POST /api/kiosk/v1/check-out`.
    pub async fn check_out(&self, body: Value) -> Answer {
        self.post("/api/kiosk/v1/check-out", body).await
    }
}
