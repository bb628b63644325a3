// A software passkey authenticator standing in for the browser's WebAuthn
// API, so the official passkey client plugin (which calls
// navigator.credentials through @simplewebauthn/browser) runs in Node
// unchanged: P-256 keys, "none" attestation, user verification, resident
// credentials. Install it once per process with `installAuthenticator`.

import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";

const sha256 = (data) => createHash("sha256").update(data).digest();
const buf = (u8) => u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength);

function cborBytes(data) {
  const n = data.length;
  const head = n < 24 ? [0x40 | n] : n < 256 ? [0x58, n] : [0x59, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from(head), data]);
}
function cborText(s) {
  return Buffer.concat([Buffer.from([0x60 | s.length]), Buffer.from(s)]);
}

export class SoftwareAuthenticator {
  constructor(origin) {
    this.origin = origin;
    /** @type {{id: Buffer, rpId: string, userHandle: Buffer, key: import("node:crypto").KeyObject, counter: number}[]} */
    this.credentials = [];
  }

  async create({ publicKey }) {
    const rpId = publicKey.rp.id;
    const excluded = (publicKey.excludeCredentials || []).map((c) => Buffer.from(c.id).toString("base64url"));
    if (this.credentials.some((c) => c.rpId === rpId && excluded.includes(c.id.toString("base64url")))) {
      throw Object.assign(new Error("already registered"), { name: "InvalidStateError" });
    }
    const { privateKey, publicKey: pub } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = pub.export({ format: "jwk" });
    const id = randomBytes(16);
    const cose = Buffer.concat([
      Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]),
      cborBytes(Buffer.from(jwk.x, "base64url")),
      Buffer.from([0x22]),
      cborBytes(Buffer.from(jwk.y, "base64url")),
    ]);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([0x45]), // user present, user verified, attested credential data
      Buffer.alloc(4), // counter 0
      Buffer.alloc(16), // the AAGUID of "none" attestation
      Buffer.from([0, id.length]),
      id,
      cose,
    ]);
    const attestationObject = Buffer.concat([
      Buffer.from([0xa3]),
      cborText("fmt"), cborText("none"),
      cborText("attStmt"), Buffer.from([0xa0]),
      cborText("authData"), cborBytes(authData),
    ]);
    const clientDataJSON = Buffer.from(JSON.stringify({
      type: "webauthn.create",
      challenge: Buffer.from(publicKey.challenge).toString("base64url"),
      origin: this.origin,
      crossOrigin: false,
    }));
    this.credentials.push({ id, rpId, userHandle: Buffer.from(publicKey.user.id), key: privateKey, counter: 0 });
    return {
      id: id.toString("base64url"),
      rawId: buf(id),
      type: "public-key",
      authenticatorAttachment: "platform",
      response: {
        clientDataJSON: buf(clientDataJSON),
        attestationObject: buf(attestationObject),
        getTransports: () => ["internal"],
        getAuthenticatorData: () => buf(authData),
      },
      getClientExtensionResults: () => ({}),
    };
  }

  async get({ publicKey }) {
    const allowed = (publicKey.allowCredentials || []).map((c) => Buffer.from(c.id).toString("base64url"));
    const cred = this.credentials.find(
      (c) => c.rpId === publicKey.rpId && (allowed.length === 0 || allowed.includes(c.id.toString("base64url"))),
    );
    if (!cred) throw Object.assign(new Error("no credential"), { name: "NotAllowedError" });
    cred.counter += 1;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(cred.counter);
    const authData = Buffer.concat([sha256(publicKey.rpId), Buffer.from([0x05]), counter]);
    const clientDataJSON = Buffer.from(JSON.stringify({
      type: "webauthn.get",
      challenge: Buffer.from(publicKey.challenge).toString("base64url"),
      origin: this.origin,
      crossOrigin: false,
    }));
    const signature = sign("sha256", Buffer.concat([authData, sha256(clientDataJSON)]), { key: cred.key, dsaEncoding: "der" });
    return {
      id: cred.id.toString("base64url"),
      rawId: buf(cred.id),
      type: "public-key",
      authenticatorAttachment: "platform",
      response: {
        clientDataJSON: buf(clientDataJSON),
        authenticatorData: buf(authData),
        signature: buf(signature),
        userHandle: buf(cred.userHandle),
      },
      getClientExtensionResults: () => ({}),
    };
  }
}

/** Makes `authenticator` the process's navigator.credentials, as in a browser. */
export function installAuthenticator(authenticator) {
  globalThis.PublicKeyCredential ??= function PublicKeyCredential() {};
  globalThis.PublicKeyCredential.isConditionalMediationAvailable ??= async () => false;
  globalThis.location ??= new URL(authenticator.origin);
  const credentials = {
    create: (options) => authenticator.create(options),
    get: (options) => authenticator.get(options),
  };
  if (globalThis.navigator) {
    Object.defineProperty(globalThis.navigator, "credentials", { value: credentials, configurable: true });
  } else {
    globalThis.navigator = { credentials };
  }
}
