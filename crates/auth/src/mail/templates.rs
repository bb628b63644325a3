//! The messages the auth role sends, each with text and HTML parts.

use super::Mail;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html_page(title: &str, paragraphs: &[String], link: Option<(&str, &str)>) -> String {
    let mut body = String::new();
    for p in paragraphs {
        body.push_str(&format!("<p>{}</p>", escape(p)));
    }
    if let Some((label, href)) = link {
        body.push_str(&format!(
            r#"<p><a href="{href}" style="display:inline-block;padding:10px 16px;background:#1d4ed8;color:#fff;border-radius:6px;text-decoration:none">{label}</a></p><p style="font-size:12px;color:#555">Or paste this link into your browser: {href}</p>"#,
            href = escape(href),
            label = escape(label)
        ));
    }
    format!(
        r#"<!doctype html><html><body style="font-family:system-ui,sans-serif;max-width:560px;margin:auto"><h1 style="font-size:20px">{}</h1>{body}<p style="font-size:12px;color:#555">IntelliStack</p></body></html>"#,
        escape(title)
    )
}

pub fn verification(to: &str, name: &str, link: &str) -> Mail {
    let intro = format!("Hello {name},");
    let ask = "Confirm your email address to finish creating your IntelliStack account. The link works once and expires in 1 hour.".to_string();
    Mail {
        to: to.into(),
        subject: "Verify your email address".into(),
        text: format!(
            "{intro}\n\n{ask}\n\n{link}\n\nIf you did not sign up, ignore this message.\n"
        ),
        html: html_page(
            "Verify your email address",
            &[
                intro,
                ask,
                "If you did not sign up, ignore this message.".into(),
            ],
            Some(("Verify email", link)),
        ),
    }
}

/// To the owner of an address someone tried to sign up with again.
pub fn account_exists(to: &str, name: &str, sign_in: &str, reset: &str) -> Mail {
    let intro = format!("Hello {name},");
    let what = "Someone, perhaps you, tried to create an IntelliStack account with this email address. You already have an account.".to_string();
    let advice = format!(
        "To use it, sign in at {sign_in}. If you forgot your password, choose a new one at {reset}. If it was not you, ignore this message: nothing has changed."
    );
    Mail {
        to: to.into(),
        subject: "You already have an account".into(),
        text: format!("{intro}\n\n{what}\n\n{advice}\n"),
        html: html_page(
            "You already have an account",
            &[intro, what, advice],
            Some(("Sign in", sign_in)),
        ),
    }
}

pub fn password_reset(to: &str, name: &str, link: &str) -> Mail {
    let intro = format!("Hello {name},");
    let ask = "Someone asked to reset the password of your IntelliStack account. The link works once and expires in 1 hour.".to_string();
    Mail {
        to: to.into(),
        subject: "Reset your password".into(),
        text: format!(
            "{intro}\n\n{ask}\n\n{link}\n\nIf it was not you, ignore this message: your password stays as it is.\n"
        ),
        html: html_page(
            "Reset your password",
            &[
                intro,
                ask,
                "If it was not you, ignore this message: your password stays as it is.".into(),
            ],
            Some(("Choose a new password", link)),
        ),
    }
}

pub fn lockout_notice(to: &str, minutes: i64) -> Mail {
    let what = format!(
        "Sign-in to your IntelliStack account was locked for {minutes} minutes after several failed password attempts."
    );
    let advice = "If this was you, wait and try again, or reset your password. If it was not you, consider changing your password.".to_string();
    Mail {
        to: to.into(),
        subject: "Sign-in temporarily locked".into(),
        text: format!("{what}\n\n{advice}\n"),
        html: html_page("Sign-in temporarily locked", &[what, advice], None),
    }
}

pub fn password_changed(to: &str, name: &str) -> Mail {
    let intro = format!("Hello {name},");
    let what = "The password of your IntelliStack account was just changed, and your other sessions were signed out.".to_string();
    let advice = "If you did not do this, reset your password now and contact support.".to_string();
    Mail {
        to: to.into(),
        subject: "Your password was changed".into(),
        text: format!("{intro}\n\n{what}\n\n{advice}\n"),
        html: html_page("Your password was changed", &[intro, what, advice], None),
    }
}

pub fn email_change(to: &str, name: &str, link: &str) -> Mail {
    let intro = format!("Hello {name},");
    let ask = "Confirm that this is your new email address for IntelliStack. Your account keeps its old address until you open this link; it works once and expires in 1 hour.".to_string();
    Mail {
        to: to.into(),
        subject: "Confirm your new email address".into(),
        text: format!(
            "{intro}\n\n{ask}\n\n{link}\n\nIf you did not ask for this, ignore this message.\n"
        ),
        html: html_page(
            "Confirm your new email address",
            &[
                intro,
                ask,
                "If you did not ask for this, ignore this message.".into(),
            ],
            Some(("Confirm new address", link)),
        ),
    }
}

pub fn email_changed(to: &str, name: &str, new_email: &str) -> Mail {
    let intro = format!("Hello {name},");
    let said = format!(
        "The email address of your IntelliStack account is now {new_email}. You will receive messages there from now on."
    );
    let warn = "If you did not make this change, reset your password and contact an administrator."
        .to_string();
    Mail {
        to: to.into(),
        subject: "Your email address was changed".into(),
        text: format!("{intro}\n\n{said}\n\n{warn}\n"),
        html: html_page("Your email address was changed", &[intro, said, warn], None),
    }
}

pub fn one_time_code(to: &str, name: &str, code: &str, minutes: i64) -> Mail {
    let intro = format!("Hello {name},");
    let said =
        format!("Your IntelliStack sign-in code is {code}. It works once, for {minutes} minutes.");
    let warn =
        "If you are not signing in right now, someone knows your password: change it.".to_string();
    Mail {
        to: to.into(),
        subject: format!("Your sign-in code: {code}"),
        text: format!("{intro}\n\n{said}\n\n{warn}\n"),
        html: html_page("Your sign-in code", &[intro, said, warn], None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_part_escapes_user_text() {
        let m = verification(
            "a@b.co",
            "<script>x</script>",
            "http://h/verify?token=t&x=1",
        );
        assert!(!m.html.contains("<script>x"));
        assert!(m.html.contains("token=t&amp;x=1"));
        assert!(m.text.contains("http://h/verify?token=t&x=1"));
    }
}
