//! Micro-benchmarks of the hot paths: verifying an RS256 JWT (what the api
//! role does per request), signing and checking a session cookie (what the
//! auth role does per request), a BM25 query over the sample course (what
//! the tutor does per turn), and the answer guard over a 1,000-token reply
//! (what the tutor does to every draft) with the checker's cost per attempt. A small harness: each operation runs in
//! timed batches and the median time per operation is printed.
//!
//!     cargo bench -p intellistack --bench micro

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::json;

/// Runs `op` in 15 batches sized to take about 50 ms; returns the median ns/op.
fn measure(name: &str, mut op: impl FnMut()) -> f64 {
    // Size a batch.
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            op();
        }
        if t.elapsed() > Duration::from_millis(50) || n > 1 << 24 {
            break;
        }
        n *= 2;
    }
    let mut per_op: Vec<f64> = (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                op();
            }
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .collect();
    per_op.sort_by(f64::total_cmp);
    let median = per_op[per_op.len() / 2];
    println!("| {name} | {} | {:.0} |", fmt_ns(median), 1e9 / median);
    median
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn main() {
    println!("| operation | median per op | ops/s (one core) |");
    println!("| --- | --- | --- |");

    // RS256 JWT verification with the claims our tokens carry.
    let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa key");
    let der = kp.as_der().expect("pkcs8");
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der.as_ref())
    );
    let enc = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("encoding key");
    use aws_lc_rs::signature::KeyPair as _;
    let public = kp.public_key();
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(json!({
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k1",
        "n": b64(public.modulus().big_endian_without_leading_zero()),
        "e": b64(public.exponent().big_endian_without_leading_zero()),
    }))
    .expect("jwk");
    let dec = DecodingKey::from_jwk(&jwk).expect("decoding key");
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": "user-1", "email": "a@example.com", "name": "A", "role": "student",
        "email_verified": true, "iss": "http://localhost:3000", "aud": "http://localhost:3000",
        "iat": now, "exp": now + 900});
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    let token = jsonwebtoken::encode(&header, &claims, &enc).expect("sign");
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&["http://localhost:3000"]);
    v.set_issuer(&["http://localhost:3000"]);
    measure("JWT verify (RS256, 2048-bit)", || {
        black_box(
            jsonwebtoken::decode::<serde_json::Value>(black_box(&token), &dec, &v).expect("valid"),
        );
    });
    measure("JWT sign (RS256, 2048-bit)", || {
        black_box(jsonwebtoken::encode(&header, black_box(&claims), &enc).expect("sign"));
    });

    // The session cookie: token.HMAC-SHA256, as Better-Auth signs it.
    let secret = "bench-secret-0123456789abcdef0123456789abcdef";
    let session_token = "Zk3qV9mW2rT8yB1nC4xL7pD0sH6jF5gA";
    let signed = auth::cookies::sign(secret, session_token);
    measure("cookie sign (HMAC-SHA256)", || {
        black_box(auth::cookies::sign(secret, black_box(session_token)));
    });
    measure("cookie verify (HMAC-SHA256, constant-time)", || {
        black_box(auth::cookies::verify(secret, black_box(&signed)).expect("valid"));
    });

    // BM25 over every chunk of the sample course.
    let courses = api::content::loader::embedded().expect("sample course");
    let mut passages = Vec::new();
    for c in &courses {
        for s in &c.stages {
            for l in &s.lessons {
                for (i, ch) in tutor::retrieval::chunk::chunk_markdown(&l.title, &l.body)
                    .into_iter()
                    .enumerate()
                {
                    passages.push(tutor::retrieval::bm25::Passage {
                        chunk_id: format!("{}-{}-{i}", s.slug, l.slug),
                        lesson_id: l.slug.clone(),
                        course_id: c.slug.clone(),
                        stage_position: s.position as u64,
                        title: ch.heading_path.join(" › "),
                        url: format!("/learn/{}/{}#{}", s.slug, l.slug, ch.anchor),
                        text: ch.text,
                    });
                }
            }
        }
    }
    let index = tutor::retrieval::bm25::Bm25::build(&passages).expect("index");
    let stages: Vec<u64> = (1..=4).collect();
    let course = courses[0].slug.clone();
    println!("<!-- BM25 index: {} passages -->", passages.len());
    measure("BM25 query (top 8, sample course)", || {
        black_box(
            index
                .search(
                    black_box("why does an encoder drift and how does a PID controller correct it"),
                    &course,
                    &stages,
                    8,
                )
                .expect("search"),
        );
    });

    // The answer guard over a 1,000-token reply (about 4,000 characters of
    // lesson prose), against the exercises of one lesson and of the whole
    // course; whole, and streamed in word-sized pieces as a model sends it.
    let all: Vec<&tutor::exercise::Exercise> = courses[0]
        .stages
        .iter()
        .flat_map(|s| s.lessons.iter().flat_map(|l| l.exercises.iter()))
        .collect();
    // Sentences the guard passes, so it reads the whole reply.
    let mut reply = String::new();
    'fill: for s in &courses[0].stages {
        for l in &s.lessons {
            for sentence in l.body.split_inclusive(". ") {
                if tutor::answers::Guard::check(&all, sentence).is_none() {
                    reply.push_str(sentence);
                }
                if reply.len() >= 4_000 {
                    break 'fill;
                }
            }
        }
    }
    let lesson: Vec<&tutor::exercise::Exercise> =
        courses[0].stages[0].lessons[1].exercises.iter().collect();
    println!(
        "<!-- guard reply: {} characters, {} words, hits against the whole course: {:?} -->",
        reply.chars().count(),
        reply.split_whitespace().count(),
        tutor::answers::Guard::check(&all, &reply).map(|h| h.exercise)
    );
    let pieces: Vec<&str> = reply.split_inclusive(' ').collect();
    measure(
        "guard, 1,000-token reply, one lesson's exercises (2), whole",
        || {
            black_box(tutor::answers::Guard::check(&lesson, black_box(&reply)));
        },
    );
    measure(
        "guard, 1,000-token reply, the course's exercises (24), whole",
        || {
            black_box(tutor::answers::Guard::check(&all, black_box(&reply)));
        },
    );
    let forms = tutor::answers::Forms::new(&all);
    measure(
        "guard, 1,000-token reply, 24 exercises, streamed word by word",
        || {
            let mut g = tutor::answers::Guard::with_forms(forms.clone());
            let mut shown = 0;
            for p in &pieces {
                g.push(black_box(p));
                shown = shown.max(g.safe_len());
            }
            black_box((g.finish().is_some(), shown));
        },
    );
    let gyro = all
        .iter()
        .find(|e| e.id == "gyro-drift")
        .expect("gyro-drift");
    let given = tutor::answers::Given::Text("68.75 degrees".into());
    measure(
        "checker, one numeric attempt (68.75 degrees vs 1.2 rad)",
        || {
            black_box(tutor::answers::check(gyro, black_box(&given)).expect("checks"));
        },
    );
}
