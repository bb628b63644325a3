-- Second factors (Better-Auth's twoFactor and passkey plugins) and signing
-- keys that are published before they sign. Same steps on both databases.

ALTER TABLE "user" ADD COLUMN two_factor_enabled BOOLEAN NOT NULL DEFAULT FALSE;

-- One row per user who has started or finished setting up TOTP.
CREATE TABLE two_factor (
    id                         TEXT PRIMARY KEY,
    user_id                    TEXT NOT NULL UNIQUE REFERENCES "user"(id) ON DELETE CASCADE,
    -- The TOTP secret, encrypted under a key derived from BETTER_AUTH_SECRET.
    secret                     TEXT NOT NULL,
    -- JSON list of SHA-256 hashes of the unused backup codes.
    backup_codes               TEXT NOT NULL,
    -- False until the first code from the authenticator app is accepted.
    verified                   BOOLEAN NOT NULL DEFAULT FALSE,
    failed_verification_count  INTEGER NOT NULL DEFAULT 0,
    locked_until               TIMESTAMP,
    -- The last TOTP time step accepted: a code is good once.
    last_used_step             INTEGER,
    created_at                 TIMESTAMP NOT NULL,
    updated_at                 TIMESTAMP NOT NULL
);

CREATE TABLE passkey (
    id             TEXT PRIMARY KEY,
    name           TEXT,
    -- The credential's public key and registration-time flags (webauthn_rp's encoding, base64).
    public_key     TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    -- base64url without padding, as browsers report it.
    credential_id  TEXT NOT NULL UNIQUE,
    counter        INTEGER NOT NULL DEFAULT 0,
    device_type    TEXT NOT NULL,
    backed_up      BOOLEAN NOT NULL DEFAULT FALSE,
    transports     TEXT,
    aaguid         TEXT,
    -- The WebAuthn user handle the authenticator keeps (base64url).
    user_handle    TEXT NOT NULL,
    user_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMP NOT NULL,
    last_used_at   TIMESTAMP
);
CREATE INDEX passkey_user_id ON passkey(user_id);

-- When a key starts signing (NULL: from created_at), and the latest expiry of
-- any token it signed, reserved before signing: a retired key stays in the
-- JWKS until then.
ALTER TABLE jwks ADD COLUMN activates_at TIMESTAMP;
ALTER TABLE jwks ADD COLUMN signed_until TIMESTAMP;

-- How the session's sign-in proved a second factor ('totp', 'otp',
-- 'backup_code', 'trusted_device', 'passkey', 'impersonation'); NULL for one
-- factor. Staff privileges can be made to depend on it.
ALTER TABLE session ADD COLUMN second_factor TEXT;
