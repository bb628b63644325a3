"""The server's JWTs as a third-party resource server sees them: PyJWT + the JWKS.

Needs a running server: BETTER_AUTH_URL (its origin), DATA_DIR (for the mail
outbox) and, for key rotation, INTELLISTACK_BIN with the server's environment.
compat/run sets all of these.
"""

import base64
import json
import os
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import jwt
import pytest

PASSWORD = "Correct-Horse-42!"
HTTP_TIMEOUT = 15


def _required(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(
            f"{name} is not set: run this suite through compat/run <path-to-intellistack-binary>",
            pytrace=False,
        )
    return value


@pytest.fixture(scope="module")
def base():
    parsed = urllib.parse.urlsplit(_required("BETTER_AUTH_URL"))
    return f"{parsed.scheme}://{parsed.netloc}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


def request(method, url, *, body=None, headers=None):
    """One HTTP exchange; non-2xx answers are returned, not raised."""
    headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _opener.open(req, timeout=HTTP_TIMEOUT) as res:
            return Response(res.status, res.headers, res.read())
    except urllib.error.HTTPError as err:
        return Response(err.code, err.headers, err.read())


def newest_mail(to, timeout=5.0):
    outbox = Path(_required("DATA_DIR")) / "outbox"
    deadline = time.monotonic() + timeout
    while True:
        files = sorted(outbox.glob("*.json"), key=lambda p: (int(p.name.split("-", 1)[0]), p.name), reverse=True)
        for path in files:
            mail = json.loads(path.read_text(encoding="utf-8"))
            if mail.get("to") == to:
                return mail
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail to {to} in {outbox} after {timeout} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def user(base):
    """A verified user signed in with the bearer flow: its email, name and bearer token."""
    email = f"pyjwt-{int(time.time() * 1000)}-{secrets.token_hex(4)}@example.com"
    name = "Py Jwt"
    origin = {"Origin": base}

    res = request("POST", f"{base}/api/auth/sign-up/email", body={"email": email, "password": PASSWORD, "name": name}, headers=origin)
    assert res.status == 200, f"sign-up: {res}"

    text = newest_mail(email)["text"]
    match = re.search(r"https?://\S*/api/auth/verify-email\?\S+", text)
    assert match, f"no verify-email link in the mail to {email}: {text!r}"
    link = match.group(0)
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]
    res = request("GET", f"{base}/api/auth/verify-email?token={urllib.parse.quote(token)}")
    assert res.status == 200, f"verify-email: {res}"

    res = request("POST", f"{base}/api/auth/sign-in/email", body={"email": email, "password": PASSWORD}, headers=origin)
    assert res.status == 200, f"sign-in: {res}"
    bearer = res.headers.get("set-auth-token")
    assert bearer, f"sign-in sent no set-auth-token header: {dict(res.headers)}"
    assert "set-auth-token" in (res.headers.get("access-control-expose-headers") or "").lower()
    return {"email": email, "name": name, "bearer": bearer, "id": res.json()["user"]["id"]}


def fetch_token(base, user):
    res = request("GET", f"{base}/api/auth/token", headers={"Authorization": f"Bearer {user['bearer']}"})
    assert res.status == 200, f"GET /api/auth/token: {res}"
    token = res.json()["token"]
    assert isinstance(token, str) and token.count(".") == 2, f"not a compact JWT: {token!r}"
    return token


def verify(base, token):
    """Verifies like a resource server would, with a fresh JWKS client."""
    jwks = jwt.PyJWKClient(f"{base}/api/auth/jwks", cache_jwk_set=False, timeout=HTTP_TIMEOUT)
    key = jwks.get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience=base,
        issuer=base,
        options={"require": ["exp", "iat", "sub", "iss", "aud"]},
    )


def jwks_keys(base):
    res = request("GET", f"{base}/api/auth/jwks")
    assert res.status == 200, f"GET /api/auth/jwks: {res}"
    return res.json()["keys"]


def test_jwks_publishes_rsa_signing_keys(base):
    keys = jwks_keys(base)
    assert keys, "the JWKS is empty"
    for key in keys:
        assert key["kty"] == "RSA"
        assert key["alg"] == "RS256"
        assert key["use"] == "sig"
        assert key["kid"]
        assert key["n"] and key["e"]
        assert "d" not in key and "p" not in key, "private key material in the JWKS"


def test_token_verifies_with_pyjwt(base, user):
    token = fetch_token(base, user)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header.get("kid"), f"no kid in {header}"
    assert header["kid"] in {k["kid"] for k in jwks_keys(base)}

    claims = verify(base, token)
    assert claims["sub"] == user["id"]
    assert claims["email"] == user["email"]
    assert claims["name"] == user["name"]
    assert claims["role"] == "student"
    assert claims["email_verified"] is True
    assert isinstance(claims["iat"], int) and isinstance(claims["exp"], int)
    assert claims["exp"] - claims["iat"] == 900
    assert abs(claims["iat"] - time.time()) < 120, "iat is not about now"


def test_get_session_sets_a_verifiable_jwt(base, user):
    res = request("GET", f"{base}/api/auth/get-session", headers={"Authorization": f"Bearer {user['bearer']}"})
    assert res.status == 200, f"GET /api/auth/get-session: {res}"
    assert res.json()["user"]["id"] == user["id"]
    header_jwt = res.headers.get("set-auth-jwt")
    assert header_jwt, f"no set-auth-jwt header: {dict(res.headers)}"
    assert verify(base, header_jwt)["sub"] == user["id"]


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_tampered_tokens_are_rejected(base, user):
    token = fetch_token(base, user)
    head, payload, signature = token.split(".")

    claims = json.loads(_b64url_decode(payload))
    claims["role"] = "admin"
    forged = ".".join([head, _b64url(json.dumps(claims, separators=(",", ":")).encode()), signature])
    with pytest.raises(jwt.InvalidSignatureError):
        verify(base, forged)

    unsigned_head = json.loads(_b64url_decode(head))
    unsigned_head["alg"] = "none"
    unsigned = ".".join([_b64url(json.dumps(unsigned_head).encode()), payload, ""])
    with pytest.raises(jwt.InvalidTokenError):
        verify(base, unsigned)

    jwks = jwt.PyJWKClient(f"{base}/api/auth/jwks", cache_jwk_set=False, timeout=HTTP_TIMEOUT)
    key = jwks.get_signing_key_from_jwt(token).key
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, key, algorithms=["RS256"], audience="https://elsewhere.example", issuer=base)


def _verify_loop(base, user, seconds, out):
    """A resource server with PyJWT's default cache: every second it fetches
    the session's current token and verifies every token seen so far."""
    client = jwt.PyJWKClient(f"{base}/api/auth/jwks", timeout=HTTP_TIMEOUT)
    seen = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        started = time.time()
        try:
            token = fetch_token(base, user)
            if token not in seen:
                seen.append(token)
        except AssertionError as err:
            out.append({"at": time.time(), "fetchError": str(err)})
        for token in seen:
            header = jwt.get_unverified_header(token)
            iat = jwt.decode(token, options={"verify_signature": False})["iat"]
            try:
                key = client.get_signing_key_from_jwt(token)
                jwt.decode(token, key.key, algorithms=["RS256"], audience=base, issuer=base)
                out.append({"at": time.time(), "kid": header["kid"], "iat": iat, "ok": True})
            except jwt.PyJWTError as err:
                out.append({"at": time.time(), "kid": header["kid"], "iat": iat, "ok": False, "error": repr(err)})
        time.sleep(max(0.0, 1.0 - (time.time() - started)))


def _check_verifier(name, lines, old_kid, new_kid, activates_at):
    refused = [l for l in lines if not l.get("ok")]
    assert not refused, f"{name} refused valid tokens during the rotation: {refused[:5]}"
    after = [l for l in lines if l["at"] > activates_at + 1]
    new_ok = [l for l in after if l["kid"] == new_kid]
    old_ok = [l for l in after if l["kid"] == old_kid]
    assert len(new_ok) >= 20, f"{name} verified only {len(new_ok)} tokens of the new key after the switch"
    assert old_ok, f"{name} verified no token of the retired key after the switch"
    last_old = max(l["iat"] for l in lines if l["kid"] == old_kid)
    assert last_old >= activates_at - 10, f"{name}: the last old-key token was issued at {last_old}, well before the switch at {activates_at}"
    assert any(l["iat"] == last_old for l in old_ok), f"{name}: the token signed just before retirement stopped verifying"


# Rotation changes the server's signing key for everything after it: keep it last.
def test_rotation_refuses_no_valid_token_to_default_caches_elsewhere(base, user):
    """Rotates while PyJWT (PyJWKClient) and jose (createRemoteJWKSet), both
    with their default caches, verify a token every second in processes other
    than the server's. The next key is published JWT_KEY_PUBLISH_LEAD_SECS
    before it signs (compat/run shortens the 6-minute default to 35 s, still
    more than both libraries' 30 s unknown-kid cooldown)."""
    binary = _required("INTELLISTACK_BIN")
    lead = int(os.environ.get("JWT_KEY_PUBLISH_LEAD_SECS", "360"))
    assert 30 < lead <= 120, f"JWT_KEY_PUBLISH_LEAD_SECS={lead}: compat/run sets 35 so this suite takes about {lead + 45} s"
    seconds = lead + 45
    script = Path(__file__).resolve().parent.parent / "better-auth-client" / "lib" / "jose-verifier.mjs"
    node = subprocess.Popen(
        ["node", str(script), base, user["bearer"], str(seconds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    py_lines = []
    import threading
    worker = threading.Thread(target=_verify_loop, args=(base, user, seconds, py_lines))
    worker.start()
    try:
        time.sleep(4)
        old_kid = jwt.get_unverified_header(fetch_token(base, user))["kid"]
        rotated = subprocess.run(
            [binary, "keys", "rotate"], env=os.environ.copy(), capture_output=True, text=True, timeout=120
        )
        assert rotated.returncode == 0, (
            f"'{binary} keys rotate' exited {rotated.returncode}\nstdout: {rotated.stdout}\nstderr: {rotated.stderr}"
        )
        match = re.search(r"new signing key (\S+) is published now and starts signing at (\S+);", rotated.stdout)
        assert match, f"unexpected output of keys rotate: {rotated.stdout!r}"
        new_kid = match.group(1)
        from datetime import datetime
        activates_at = datetime.fromisoformat(match.group(2).replace("Z", "+00:00")).timestamp()
        kids = [k["kid"] for k in jwks_keys(base)]
        assert new_kid in kids and old_kid in kids, f"both keys are published before the switch: {kids}"
        assert jwt.get_unverified_header(fetch_token(base, user))["kid"] == old_kid, "the next key signs before its time"
    finally:
        worker.join(timeout=seconds + 60)
        out, err = node.communicate(timeout=seconds + 60)
    assert node.returncode == 0, f"the jose verifier exited {node.returncode}: {err}"
    jose_lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    for name, lines in (("PyJWT", py_lines), ("jose", jose_lines)):
        fetch_errors = [l for l in lines if "fetchError" in l]
        assert not fetch_errors, f"{name} could not fetch tokens: {fetch_errors[:3]}"
        _check_verifier(name, lines, old_kid, new_kid, activates_at)
    assert verify(base, fetch_token(base, user))["sub"] == user["id"]
