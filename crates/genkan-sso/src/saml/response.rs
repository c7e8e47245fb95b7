//! ACS response validation: size cap, DTD refusal, samael's signature check and reduction
//! to signed content, then every condition again on the injected clock.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use samael::schema::{Assertion, Response};
use samael::service_provider::Error as SamaelError;
use serde::{Deserialize, Serialize};

use super::metadata::has_dtd;
use super::{
    MAX_ENCODED_RESPONSE, PENDING_LOGIN_TTL, PendingSamlLogin, ReplayCache, SamlError,
    SamlServiceProvider,
};

const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// Who signed in, according to a verified assertion. Match users on
/// `(issuer, name_id)` when the NameID format is persistent; the e-mail only links an
/// existing account the first time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlIdentity {
    /// The IdP entity id that signed.
    pub issuer: String,
    /// The NameID value.
    pub name_id: String,
    /// The NameID format (`…:persistent`, `…:emailAddress`, …).
    pub name_id_format: Option<String>,
    /// The IdP session index (for a later single logout).
    pub session_index: Option<String>,
    /// The AuthnContextClassRef the IdP asserted (record it: it is "the IdP's MFA").
    pub authn_context: Option<String>,
    /// When the user authenticated at the IdP.
    pub authn_instant: Option<DateTime<Utc>>,
    /// Attributes by Name (and FriendlyName), values in order.
    pub attributes: BTreeMap<String, Vec<String>>,
}

const EMAIL_ATTRS: [&str; 5] = [
    "email",
    "mail",
    "emailaddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
];
const NAME_ATTRS: [&str; 5] = [
    "displayname",
    "name",
    "http://schemas.microsoft.com/identity/claims/displayname",
    "urn:oid:2.16.840.1.113730.3.1.241",
    "cn",
];
const AUTHN_METHODS_ATTR: &str = "http://schemas.microsoft.com/claims/authnmethodsreferences";

impl SamlIdentity {
    fn first_of(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| {
            self.attributes
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .and_then(|(_, v)| v.first())
                .map(String::as_str)
        })
    }

    /// The e-mail address: a well-known mail attribute, else an `emailAddress` NameID.
    pub fn email(&self) -> Option<&str> {
        self.first_of(&EMAIL_ATTRS).or_else(|| {
            self.name_id_format
                .as_deref()
                .filter(|f| f.ends_with(":emailAddress"))
                .map(|_| self.name_id.as_str())
        })
    }

    /// A display name from the well-known attributes.
    pub fn display_name(&self) -> Option<&str> {
        self.first_of(&NAME_ATTRS)
    }

    /// The values of a (configured) groups attribute, e.g. `groups` or Entra's
    /// `http://schemas.microsoft.com/ws/2008/06/identity/claims/groups`.
    pub fn values(&self, attribute: &str) -> Vec<String> {
        self.attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(attribute))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// Whether the IdP asserted multi-factor authentication: Entra's
    /// `authnmethodsreferences` holding `…/multipleauthn`, or an AuthnContextClassRef
    /// naming multi-factor (`…MultiFactor…`, `…mfa…`, REFEDS MFA).
    pub fn idp_asserted_mfa(&self) -> bool {
        let mfa = |s: &str| {
            let s = s.to_ascii_lowercase();
            s.contains("multipleauthn")
                || s.contains("multifactor")
                || s.ends_with("/mfa")
                || s.contains(":mfa")
        };
        self.values(AUTHN_METHODS_ATTR).iter().any(|v| mfa(v))
            || self.authn_context.as_deref().is_some_and(mfa)
    }
}

/// An assertion whose signature and conditions hold, not yet checked for replay. The
/// identity is only reachable through [`VerifiedAssertion::claim_once`].
#[derive(Debug)]
#[must_use = "an assertion is only usable after the replay check"]
pub struct VerifiedAssertion {
    identity: SamlIdentity,
    assertion_id: String,
    until: DateTime<Utc>,
}

impl VerifiedAssertion {
    /// The assertion's ID (the replay key, with the issuer).
    pub fn assertion_id(&self) -> &str {
        &self.assertion_id
    }

    /// Until when the id must be remembered (latest NotOnOrAfter plus skew).
    pub fn remember_until(&self) -> DateTime<Utc> {
        self.until
    }

    /// Records the assertion id in the replay cache and gives the identity the first time;
    /// [`SamlError::Replayed`] after that; [`SamlError::ReplayCache`] when the cache fails.
    pub async fn claim_once<C: ReplayCache + ?Sized>(
        self,
        cache: &C,
    ) -> Result<SamlIdentity, SamlError> {
        match cache
            .first_use(&self.identity.issuer, &self.assertion_id, self.until)
            .await
        {
            Ok(true) => Ok(self.identity),
            Ok(false) => Err(SamlError::Replayed),
            Err(e) => Err(SamlError::ReplayCache(e.0)),
        }
    }
}

/// Decodes the `SAMLResponse` form value with the size cap; refuses DTDs.
fn decode(saml_response: &str) -> Result<String, SamlError> {
    if saml_response.len() > MAX_ENCODED_RESPONSE {
        return Err(SamlError::TooLarge);
    }
    let compact: String = saml_response
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| SamlError::Malformed("not base64".into()))?;
    let xml = String::from_utf8(bytes).map_err(|_| SamlError::Malformed("not UTF-8".into()))?;
    if has_dtd(&xml) {
        return Err(SamlError::Malformed(
            "document type declarations are not accepted".into(),
        ));
    }
    Ok(xml)
}

const ASSERTION_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:assertion";

/// Exactly one SAML `Assertion` element may appear anywhere in the document, and no
/// `EncryptedAssertion`. Real IdPs send one; a second one (before, after or inside the
/// signed one) is the shape of a signature-wrapping attempt, refused before any check
/// that might otherwise pick the signed copy and carry on.
fn require_single_assertion(xml: &str) -> Result<(), SamlError> {
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    let mut reader = quick_xml::NsReader::from_str(xml);
    let mut assertions = 0;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| SamlError::Malformed(format!("not well-formed XML: {e}")))?;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let in_saml = matches!(ns, ResolveResult::Bound(n) if n.as_ref() == ASSERTION_NS);
                match e.local_name().as_ref() {
                    b"Assertion" if in_saml => assertions += 1,
                    b"EncryptedAssertion" => {
                        return Err(SamlError::Malformed(
                            "encrypted assertions are not accepted".into(),
                        ));
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    match assertions {
        1 => Ok(()),
        0 => Err(SamlError::Incomplete("no assertion".into())),
        n => Err(SamlError::Malformed(format!(
            "{n} assertions where one is expected"
        ))),
    }
}

/// The `InResponseTo` of a response, read without any check, to find the pending login
/// it claims to answer. Never trust it for anything else.
pub fn peek_in_response_to(saml_response: &str) -> Option<String> {
    let xml = decode(saml_response).ok()?;
    xml.parse::<Response>().ok()?.in_response_to
}

impl SamlServiceProvider {
    /// Validates an ACS POST's `SAMLResponse` against the pending login it answers:
    /// signature by the IdP (on the Response or the Assertion; only signed content is
    /// read), issuer, status, destination and recipient (the ACS URL), audience (this SP),
    /// NotBefore / NotOnOrAfter with skew, and InResponseTo. Then call
    /// [`VerifiedAssertion::claim_once`].
    pub fn validate_response(
        &self,
        saml_response: &str,
        pending: &PendingSamlLogin,
    ) -> Result<VerifiedAssertion, SamlError> {
        let now = self.clock.now();
        if now - pending.started_at > PENDING_LOGIN_TTL
            || now < pending.started_at - self.clock_skew
        {
            return Err(SamlError::PendingExpired);
        }
        let xml = decode(saml_response)?;
        // Refuse a failure status with its own code (unverified, so only ever to refuse).
        let status = xml
            .parse::<Response>()
            .ok()
            .and_then(|r| r.status)
            .and_then(|s| s.status_code.value);
        if let Some(code) = status.filter(|c| c != SUCCESS) {
            return Err(SamlError::ProviderRefused(code));
        }
        require_single_assertion(&xml)?;
        if self.idp.signing_certificates.is_empty() {
            // samael would skip verification; never let it.
            return Err(SamlError::BadSignature);
        }
        let assertion = self
            .samael()
            .parse_xml_response(&xml, Some(&[pending.request_id.as_str()]))
            .map_err(map_samael)?;
        self.check_assertion(&assertion, pending, now)
    }

    fn check_assertion(
        &self,
        a: &Assertion,
        pending: &PendingSamlLogin,
        now: DateTime<Utc>,
    ) -> Result<VerifiedAssertion, SamlError> {
        let skew = self.clock_skew;
        let issuer = a.issuer.value.clone().unwrap_or_default();
        if issuer != self.idp.entity_id {
            return Err(SamlError::WrongIssuer(issuer));
        }
        if a.id.trim().is_empty() {
            return Err(SamlError::Incomplete("no assertion ID".into()));
        }
        if a.issue_instant > now + skew || a.issue_instant < now - PENDING_LOGIN_TTL - skew {
            return Err(SamlError::Expired(format!("issued at {}", a.issue_instant)));
        }
        let conditions = a
            .conditions
            .as_ref()
            .ok_or_else(|| SamlError::Incomplete("no Conditions".into()))?;
        if conditions.not_before.is_some_and(|nb| now + skew < nb) {
            return Err(SamlError::Expired(
                "Conditions NotBefore is in the future".into(),
            ));
        }
        let conditions_end = conditions
            .not_on_or_after
            .ok_or_else(|| SamlError::Incomplete("Conditions without NotOnOrAfter".into()))?;
        if now - skew >= conditions_end {
            return Err(SamlError::Expired(format!(
                "Conditions NotOnOrAfter {conditions_end}"
            )));
        }
        let restrictions = conditions
            .audience_restrictions
            .as_deref()
            .unwrap_or_default();
        if restrictions.is_empty() {
            return Err(SamlError::WrongAudience("no AudienceRestriction".into()));
        }
        // Every restriction must be satisfied (SAML core 2.5.1.4).
        if !restrictions
            .iter()
            .all(|r| r.audience.iter().any(|aud| aud == &self.sp.entity_id))
        {
            return Err(SamlError::WrongAudience(format!(
                "not {}",
                self.sp.entity_id
            )));
        }
        let subject = a
            .subject
            .as_ref()
            .ok_or_else(|| SamlError::Incomplete("no Subject".into()))?;
        let name_id = subject
            .name_id
            .as_ref()
            .filter(|n| !n.value.trim().is_empty())
            .ok_or_else(|| SamlError::Incomplete("no NameID".into()))?;
        let confirmation_end = self.check_bearer(
            subject.subject_confirmations.as_deref().unwrap_or_default(),
            pending,
            now,
        )?;
        let statement = a.authn_statements.as_ref().and_then(|s| s.first());
        let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for attr in a
            .attribute_statements
            .iter()
            .flatten()
            .flat_map(|s| s.attributes.iter())
        {
            let values: Vec<String> = attr.values.iter().filter_map(|v| v.value.clone()).collect();
            for key in [attr.name.as_ref(), attr.friendly_name.as_ref()]
                .into_iter()
                .flatten()
            {
                attributes
                    .entry(key.clone())
                    .or_default()
                    .extend(values.iter().cloned());
            }
        }
        Ok(VerifiedAssertion {
            identity: SamlIdentity {
                issuer,
                name_id: name_id.value.clone(),
                name_id_format: name_id.format.clone(),
                session_index: statement.and_then(|s| s.session_index.clone()),
                authn_context: statement
                    .and_then(|s| s.authn_context.as_ref())
                    .and_then(|c| c.value.as_ref())
                    .and_then(|c| c.value.clone()),
                authn_instant: statement.and_then(|s| s.authn_instant),
                attributes,
            },
            assertion_id: a.id.clone(),
            until: conditions_end.max(confirmation_end) + skew,
        })
    }

    /// A bearer confirmation naming the ACS, this request, and a future NotOnOrAfter must
    /// exist. Returns its NotOnOrAfter.
    fn check_bearer(
        &self,
        confirmations: &[samael::schema::SubjectConfirmation],
        pending: &PendingSamlLogin,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, SamlError> {
        let mut refusal = SamlError::Incomplete("no bearer SubjectConfirmation".into());
        for c in confirmations
            .iter()
            .filter(|c| c.method.as_deref() == Some(BEARER))
        {
            let Some(data) = &c.subject_confirmation_data else {
                continue;
            };
            if data.recipient.as_deref() != Some(self.sp.acs_url.as_str()) {
                refusal = SamlError::WrongRecipient(data.recipient.clone().unwrap_or_default());
                continue;
            }
            if data.in_response_to.as_deref() != Some(pending.request_id.as_str()) {
                refusal = SamlError::WrongRequest("InResponseTo is not the pending request".into());
                continue;
            }
            let Some(end) = data.not_on_or_after else {
                refusal =
                    SamlError::Incomplete("SubjectConfirmationData without NotOnOrAfter".into());
                continue;
            };
            if now - self.clock_skew >= end
                || data.not_before.is_some_and(|nb| now + self.clock_skew < nb)
            {
                refusal = SamlError::Expired(format!("SubjectConfirmationData NotOnOrAfter {end}"));
                continue;
            }
            return Ok(end);
        }
        Err(refusal)
    }
}

fn map_samael(error: SamaelError) -> SamlError {
    use SamaelError as E;
    match error {
        E::FailedToValidateSignature
        | E::CryptoXmlError(_)
        | E::CryptoProviderError(_)
        | E::FailedToParseCert { .. } => SamlError::BadSignature,
        E::DestinationValidationError { .. } | E::AssertionRecipientMismatch { .. } => {
            SamlError::WrongRecipient(error.to_string())
        }
        E::AssertionConditionAudienceRestrictionFailed { .. } => {
            SamlError::WrongAudience(error.to_string())
        }
        E::AssertionInResponseToInvalid { .. } | E::ResponseInResponseToInvalid { .. } => {
            SamlError::WrongRequest(error.to_string())
        }
        E::AssertionIssuerMismatch { .. } | E::ResponseIssuerMismatch { .. } => {
            SamlError::WrongIssuer(error.to_string())
        }
        E::AssertionExpired { .. }
        | E::ResponseExpired { .. }
        | E::AssertionSubjectConfirmationExpired { .. }
        | E::AssertionSubjectConfirmationExpiredBefore { .. }
        | E::AssertionConditionExpired { .. }
        | E::AssertionConditionExpiredBefore { .. } => SamlError::Expired(error.to_string()),
        E::ResponseBadStatusCode { code } => SamlError::ProviderRefused(code),
        E::AssertionBearerSubjectConfirmationMissing | E::AssertionSubjectConfirmationMissing => {
            SamlError::Incomplete(error.to_string())
        }
        other => SamlError::Malformed(other.to_string()),
    }
}
