"""The SAML identity provider of the genkan-sso tests: pysaml2 (signing through xmlsec1)
on 127.0.0.1 (port 0). Usage: idp.py WORKDIR SP_METADATA_FILE...

GET  /metadata                 the IdP's metadata (entity id, HTTP-Redirect SSO, signing cert)
GET  /sso/redirect?SAMLRequest the AuthnRequest is answered at once with the auto-post form
                               (HTTP-POST binding) a browser would submit to the SP's ACS
POST /test/next {...}          one-shot settings for the next response: sub, attributes,
                               audience (an SP entity id from the metadata), destination,
                               sign_response, sign_assertion, lifetime_minutes, authn_class,
                               sha1 (sign with RSA-SHA1 instead of RSA-SHA256)
Prints one JSON line {"metadata_url": ...} on stdout once listening.
"""
import datetime
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, saml, xmldsig
from saml2.assertion import Policy
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server

workdir, sp_files = sys.argv[1], sys.argv[2:]
NAME_FORM = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"


def make_key_and_cert():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "genkan-test-idp")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = os.path.join(workdir, "idp.key"), os.path.join(workdir, "idp.crt")
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()))
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


KEY, CERT = make_key_and_cert()
NEXT = {}
STATE = {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, status, body, content_type):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.path == "/test/next":
            length = int(self.headers.get("content-length", "0"))
            NEXT.clear()
            NEXT.update(json.loads(self.rfile.read(length) or b"{}"))
            self.send(200, "{}", "application/json")
        else:
            self.send(404, "not found", "text/plain")

    def do_GET(self):
        url = urlparse(self.path)
        try:
            if url.path == "/metadata":
                self.send(200, STATE["metadata"], "application/samlmetadata+xml")
            elif url.path == "/sso/redirect":
                self.send(200, self.answer(parse_qs(url.query)), "text/html")
            else:
                self.send(404, "not found", "text/plain")
        except Exception as e:  # the test reads the reason
            self.send(500, f"{type(e).__name__}: {e}", "text/plain")

    def answer(self, query):
        idp = STATE["idp"]
        opts = dict(NEXT)
        NEXT.clear()
        request = idp.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT).message
        relay_state = query.get("RelayState", [""])[0]
        sp_entity_id = opts.get("audience", request.issuer.text)
        acs_url = request.assertion_consumer_service_url
        destination = opts.get("destination", acs_url)
        sub = opts.get("sub", "alice")
        identity = opts.get("attributes", {
            "mail": [f"{sub}@example.test"], "displayName": [f"User {sub}"], "groups": ["staff"],
        })
        policy = Policy({"default": {"lifetime": {"minutes": opts.get("lifetime_minutes", 5)},
                                     "attribute_restrictions": None, "name_form": NAME_FORM}}, mds=idp.metadata)
        response = idp.create_authn_response(
            identity,
            in_response_to=request.id,
            destination=destination,
            sp_entity_id=sp_entity_id,
            userid=sub,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=sub),
            authn={"class_ref": opts.get("authn_class", saml.AUTHN_PASSWORD_PROTECTED), "authn_auth": STATE["entity_id"]},
            sign_response=opts.get("sign_response", True),
            sign_assertion=opts.get("sign_assertion", True),
            release_policy=policy,
            sign_alg=xmldsig.SIG_RSA_SHA1 if opts.get("sha1") else xmldsig.SIG_RSA_SHA256,
            digest_alg=xmldsig.DIGEST_SHA1 if opts.get("sha1") else xmldsig.DIGEST_SHA256,
        )
        http_args = idp.apply_binding(BINDING_HTTP_POST, str(response), destination, relay_state, response=True)
        return http_args["data"]


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
base = f"http://127.0.0.1:{server.server_address[1]}"
STATE["entity_id"] = f"{base}/idp"
config = IdPConfig()
config.load({
    "entityid": STATE["entity_id"],
    "service": {"idp": {
        "name": "Genkan test IdP",
        "endpoints": {"single_sign_on_service": [(f"{base}/sso/redirect", BINDING_HTTP_REDIRECT)]},
        "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None,
                               "name_form": NAME_FORM}},
        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
    }},
    "key_file": KEY,
    "cert_file": CERT,
    "metadata": {"local": sp_files},
    "xmlsec_binary": "/usr/bin/xmlsec1",
    "allow_unknown_attributes": True,
})
STATE["idp"] = Server(config=config)
STATE["metadata"] = create_metadata_string(None, config=config, valid=1).decode()
print(json.dumps({"metadata_url": f"{base}/metadata", "entity_id": STATE["entity_id"]}), flush=True)
server.serve_forever()
