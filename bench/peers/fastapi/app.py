"""A JWT-protected endpoint as a FastAPI backend does it: PyJWT verifies the
RS256 token against the identity server's JWKS (keys cached by PyJWKClient)."""
import os

import jwt
from fastapi import FastAPI, Header, HTTPException

JWKS = jwt.PyJWKClient(os.environ["JWKS_URL"], cache_keys=True)
ISSUER = os.environ["JWT_ISSUER"]
app = FastAPI()


@app.get("/api/v1/me")
def me(authorization: str = Header(default="")):
    if not authorization.lower().startswith("bearer "):
        raise HTTPException(status_code=401, detail="missing bearer token")
    token = authorization[7:]
    try:
        key = JWKS.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256", "EdDSA"], audience=ISSUER, issuer=ISSUER)
    except jwt.PyJWTError as e:
        raise HTTPException(status_code=401, detail=str(e))
    return {"id": claims["sub"], "email": claims.get("email"), "name": claims.get("name"), "role": claims.get("role")}
