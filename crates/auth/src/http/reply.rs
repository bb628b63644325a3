//! A response with cookies and Better-Auth's extra headers.

use axum::Json;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::Auth;
use crate::cookies::{self, DONT_REMEMBER, SESSION_TOKEN};
use crate::sessions::Session;

pub struct Reply {
    status: StatusCode,
    body: Option<Value>,
    headers: HeaderMap,
}

impl Reply {
    pub fn json(body: Value) -> Self {
        Reply {
            status: StatusCode::OK,
            body: Some(body),
            headers: HeaderMap::new(),
        }
    }

    /// A 200 with a view struct as its JSON body.
    pub fn serialize<T: serde::Serialize>(body: &T) -> Self {
        // View structs hold plain data: serialising them cannot fail.
        Self::json(serde_json::to_value(body).unwrap_or(Value::Null))
    }

    pub fn redirect(location: &str) -> Self {
        let mut r = Reply {
            status: StatusCode::FOUND,
            body: None,
            headers: HeaderMap::new(),
        };
        r.header(header::LOCATION, location);
        r
    }

    pub fn header(&mut self, name: HeaderName, value: &str) -> &mut Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.append(name, v);
        }
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        self.header(name, value);
        self
    }

    pub fn cookie(&mut self, set_cookie: String) -> &mut Self {
        self.header(header::SET_COOKIE, &set_cookie)
    }

    /// Sets the session cookie (and `set-auth-token` for bearer clients).
    pub fn with_session(mut self, auth: &Auth, session: &Session) -> Self {
        let signed = cookies::sign(auth.secret(), &session.token);
        let max_age = session
            .remember_me
            .then(|| session.expires_at - auth.clock.now());
        self.cookie(auth.cookies.set(SESSION_TOKEN, &signed, max_age));
        if session.remember_me {
            self.cookie(auth.cookies.delete(DONT_REMEMBER));
        } else {
            self.cookie(auth.cookies.set(
                DONT_REMEMBER,
                &cookies::sign(auth.secret(), "true"),
                None,
            ));
        }
        self.header(HeaderName::from_static("set-auth-token"), &signed);
        self
    }

    pub fn clearing_cookie(mut self, auth: &Auth, short: &str) -> Self {
        self.cookie(auth.cookies.delete(short));
        self
    }

    pub fn clearing_session(mut self, auth: &Auth) -> Self {
        self.cookie(auth.cookies.delete(SESSION_TOKEN));
        self.cookie(auth.cookies.delete("session_data"));
        self.cookie(auth.cookies.delete(DONT_REMEMBER));
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut res = match self.body {
            Some(body) => (self.status, Json(body)).into_response(),
            None => {
                let mut r = self.status.into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                r
            }
        };
        for (name, value) in self.headers.iter() {
            res.headers_mut().append(name.clone(), value.clone());
        }
        res
    }
}
