//! A software passkey authenticator for tests: P-256 (ES256) keys, "none"
//! attestation, user verification, discoverable credentials. It answers the
//! options the server sends exactly as a browser's `navigator.credentials`
//! would, in the WebAuthn JSON encoding.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// A CBOR byte string header and body.
fn cbor_bytes(out: &mut Vec<u8>, data: &[u8]) {
    match data.len() {
        n if n < 24 => out.push(0x40 | n as u8),
        n if n < 256 => out.extend([0x58, n as u8]),
        n => {
            out.push(0x59);
            out.extend((n as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(data);
}

fn cbor_text(out: &mut Vec<u8>, s: &str) {
    assert!(s.len() < 24);
    out.push(0x60 | s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

pub struct Credential {
    pub id: Vec<u8>,
    pub user_handle: String,
    key: EcdsaKeyPair,
    pub counter: u32,
}

/// One authenticator with its stored credentials.
#[derive(Default)]
pub struct Authenticator {
    pub credentials: Vec<Credential>,
    /// Answer with this origin instead of the page's (to test the check).
    pub origin_override: Option<String>,
}

impl Authenticator {
    fn rp_hash(rp_id: &str) -> Vec<u8> {
        digest(&SHA256, rp_id.as_bytes()).as_ref().to_vec()
    }

    fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
        serde_json::to_vec(
            &json!({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false}),
        )
        .unwrap()
    }

    /// `navigator.credentials.create` for the server's creation options.
    pub fn register(&mut self, options: &Value, origin: &str) -> Value {
        let rp_id = options["rp"]["id"].as_str().unwrap();
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let public = key.public_key().as_ref().to_vec();
        assert_eq!(public.len(), 65, "uncompressed P-256 point");
        let id: [u8; 16] = common::ids::random_bytes();
        let mut cose = vec![0xA5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cbor_bytes(&mut cose, &public[1..33]);
        cose.push(0x22);
        cbor_bytes(&mut cose, &public[33..65]);
        let mut auth_data = Self::rp_hash(rp_id);
        auth_data.push(0x45); // user present, user verified, attested credential data
        auth_data.extend(0u32.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID of "none" attestation
        auth_data.extend((id.len() as u16).to_be_bytes());
        auth_data.extend(id);
        auth_data.extend(&cose);
        let mut att = vec![0xA3];
        cbor_text(&mut att, "fmt");
        cbor_text(&mut att, "none");
        cbor_text(&mut att, "attStmt");
        att.push(0xA0);
        cbor_text(&mut att, "authData");
        cbor_bytes(&mut att, &auth_data);
        let origin = self
            .origin_override
            .clone()
            .unwrap_or_else(|| origin.to_string());
        let client_data = Self::client_data(
            "webauthn.create",
            options["challenge"].as_str().unwrap(),
            &origin,
        );
        self.credentials.push(Credential {
            id: id.to_vec(),
            user_handle: options["user"]["id"].as_str().unwrap().to_string(),
            key,
            counter: 0,
        });
        json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64(&client_data),
                "attestationObject": b64(&att),
                "transports": ["internal"],
            },
        })
    }

    /// `navigator.credentials.get` with the first stored credential (or `index`).
    pub fn assert(&mut self, options: &Value, origin: &str, index: usize) -> Value {
        let rp_id = options["rpId"].as_str().unwrap().to_string();
        let origin = self
            .origin_override
            .clone()
            .unwrap_or_else(|| origin.to_string());
        let c = &mut self.credentials[index];
        c.counter += 1;
        let mut auth_data = Self::rp_hash(&rp_id);
        auth_data.push(0x05); // user present, user verified
        auth_data.extend(c.counter.to_be_bytes());
        let client_data = Self::client_data(
            "webauthn.get",
            options["challenge"].as_str().unwrap(),
            &origin,
        );
        let mut signed = auth_data.clone();
        signed.extend(digest(&SHA256, &client_data).as_ref());
        let signature = c.key.sign(&SystemRandom::new(), &signed).unwrap();
        json!({
            "id": b64(&c.id),
            "rawId": b64(&c.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(signature.as_ref()),
                "userHandle": c.user_handle,
            },
        })
    }
}
