//! This SP's metadata (generated) and the IdP's metadata (imported, with its signing
//! certificates required).

use samael::metadata::EntityDescriptor;
use samael::service_provider::ServiceProvider;
use sha2::{Digest, Sha256};

use super::SamlError;

/// The largest IdP metadata document accepted.
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;

const HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

/// This service provider, as registered at the IdP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpConfig {
    /// The SP entity id (the audience the IdP must name), e.g.
    /// `https://genkan.example/sso/saml/{tenant}`.
    pub entity_id: String,
    /// The Assertion Consumer Service URL (HTTP-POST binding), the required recipient.
    pub acs_url: String,
}

/// The SP metadata XML to download and upload at the IdP: entity id and ACS (HTTP-POST);
/// AuthnRequests unsigned, assertions wanted signed, no encryption key.
pub fn sp_metadata_xml(sp: &SpConfig) -> String {
    format!(
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{entity}\">\n",
            "  <md:SPSSODescriptor AuthnRequestsSigned=\"false\" WantAssertionsSigned=\"true\" ",
            "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\n",
            "    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>\n",
            "    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>\n",
            "    <md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" ",
            "Location=\"{acs}\" index=\"0\" isDefault=\"true\"/>\n",
            "  </md:SPSSODescriptor>\n",
            "</md:EntityDescriptor>\n"
        ),
        entity = escape_attr(&sp.entity_id),
        acs = escape_attr(&sp.acs_url),
    )
}

/// Escapes text for a double-quoted XML attribute.
fn escape_attr(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// An imported IdP: who it is, where to send users, and the certificates whose
/// signatures are trusted. Store [`IdpMetadata::xml`] and re-import it at start-up.
#[derive(Clone)]
pub struct IdpMetadata {
    /// The IdP's entity id (the required issuer).
    pub entity_id: String,
    /// The SingleSignOnService location for the HTTP-Redirect binding.
    pub sso_redirect_url: String,
    /// The signing certificates (DER), at least one.
    pub signing_certificates: Vec<Vec<u8>>,
    pub(crate) descriptor: EntityDescriptor,
    xml: String,
}

impl std::fmt::Debug for IdpMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpMetadata")
            .field("entity_id", &self.entity_id)
            .field("sso_redirect_url", &self.sso_redirect_url)
            .field("signing_certificates", &self.certificate_fingerprints())
            .finish_non_exhaustive()
    }
}

impl IdpMetadata {
    /// Imports an `EntityDescriptor` with an IDPSSODescriptor. Refused: documents over
    /// [`MAX_METADATA_BYTES`], DTDs, no entity id, no HTTP-Redirect SSO endpoint, and —
    /// because without one nothing could be verified — no signing certificate.
    pub fn from_xml(xml: &str) -> Result<Self, SamlError> {
        if xml.len() > MAX_METADATA_BYTES {
            return Err(SamlError::Metadata(
                "the document is larger than 1 MiB".into(),
            ));
        }
        if has_dtd(xml) {
            return Err(SamlError::Metadata(
                "document type declarations are not accepted".into(),
            ));
        }
        let descriptor: EntityDescriptor = xml
            .parse()
            .map_err(|e| SamlError::Metadata(format!("not an EntityDescriptor: {e}")))?;
        let entity_id = descriptor
            .entity_id
            .clone()
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| SamlError::Metadata("no entityID".into()))?;
        let idp = descriptor
            .idp_sso_descriptors
            .as_ref()
            .and_then(|d| d.first())
            .ok_or_else(|| SamlError::Metadata("no IDPSSODescriptor".into()))?;
        let sso_redirect_url = idp
            .single_sign_on_services
            .iter()
            .find(|s| s.binding == HTTP_REDIRECT)
            .map(|s| s.location.clone())
            .ok_or_else(|| {
                SamlError::Metadata("no SingleSignOnService with the HTTP-Redirect binding".into())
            })?;
        url::Url::parse(&sso_redirect_url)
            .map_err(|e| SamlError::Metadata(format!("SSO URL: {e}")))?;
        let probe = ServiceProvider {
            idp_metadata: descriptor.clone(),
            ..ServiceProvider::default()
        };
        let signing_certificates: Vec<Vec<u8>> = probe
            .idp_signing_certs()
            .map_err(|e| SamlError::Metadata(format!("signing certificate: {e}")))?
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.der_data().to_vec())
            .filter(|der| !der.is_empty())
            .collect();
        if signing_certificates.is_empty() {
            return Err(SamlError::Metadata("no signing certificate".into()));
        }
        Ok(Self {
            entity_id,
            sso_redirect_url,
            signing_certificates,
            descriptor,
            xml: xml.to_owned(),
        })
    }

    /// The document as imported, for storage.
    pub fn xml(&self) -> &str {
        &self.xml
    }

    /// SHA-256 fingerprints of the signing certificates (`AB:CD:…`), for settings pages.
    pub fn certificate_fingerprints(&self) -> Vec<String> {
        self.signing_certificates
            .iter()
            .map(|der| {
                Sha256::digest(der)
                    .iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<Vec<_>>()
                    .join(":")
            })
            .collect()
    }
}

/// Whether the text declares a DTD (SAML never needs one; entity tricks need one).
pub(crate) fn has_dtd(xml: &str) -> bool {
    xml.contains("<!DOCTYPE") || xml.contains("<!doctype") || xml.contains("<!ENTITY")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sp_metadata_escapes_and_parses_back() {
        let sp = SpConfig {
            entity_id: "https://genkan.example/sso/saml/t1?a=1&b=\"2\"".into(),
            acs_url: "https://genkan.example/sso/saml/t1/acs".into(),
        };
        let xml = sp_metadata_xml(&sp);
        assert!(xml.contains("a=1&amp;b=&quot;2&quot;"));
        let parsed: EntityDescriptor = xml.parse().unwrap();
        assert_eq!(parsed.entity_id.as_deref(), Some(sp.entity_id.as_str()));
        let acs = &parsed.sp_sso_descriptors.unwrap()[0].assertion_consumer_services[0];
        assert_eq!(acs.location, sp.acs_url);
    }

    #[test]
    fn idp_metadata_without_signing_certificate_or_with_a_dtd_is_refused() {
        let no_cert = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#;
        let err = IdpMetadata::from_xml(no_cert).unwrap_err();
        assert!(err.to_string().contains("no signing certificate"), "{err}");
        let dtd = format!("<!DOCTYPE x [<!ENTITY a \"b\">]>{no_cert}");
        assert_eq!(
            IdpMetadata::from_xml(&dtd).unwrap_err().code(),
            "saml_metadata"
        );
        assert!(IdpMetadata::from_xml("<nope/>").is_err());
    }
}
