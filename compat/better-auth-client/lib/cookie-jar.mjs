// A minimal browser stand-in for one origin: Node's fetch has no cookie jar and
// sends no Origin header, so this keeps the cookies the server sets (name=value,
// deleted on Max-Age<=0 or an empty value), sends them back, and adds
// `Origin: <origin>` to every non-GET/HEAD request like a same-origin page would.
// All requests are assumed to go to that one origin.

export class CookieJar {
  /** @param {string} baseURL any URL on the origin the jar belongs to */
  constructor(baseURL) {
    this.origin = new URL(baseURL).origin;
    /** @type {Map<string, string>} */
    this.cookies = new Map();
    this.fetch = this.fetch.bind(this);
  }

  /** Value of one cookie, or undefined. */
  get(name) {
    return this.cookies.get(name);
  }

  /** The Cookie request header value ("" when empty). */
  header() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  /** Applies the Set-Cookie headers of a response. */
  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const maxAge = attributes
        .map((a) => a.trim().split("="))
        .find(([key]) => key.toLowerCase() === "max-age");
      if (value === "" || (maxAge && Number(maxAge[1]) <= 0)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** fetch() with cookies and Origin; usable as better-fetch's customFetchImpl. */
  async fetch(input, init = {}) {
    const headers = new Headers(init.headers);
    const method = (init.method ?? "GET").toUpperCase();
    if (this.cookies.size > 0) headers.set("cookie", this.header());
    if (method !== "GET" && method !== "HEAD") headers.set("origin", this.origin);
    // Redirects are not followed, so every Set-Cookie passes through the jar.
    const response = await fetch(input, { ...init, method, headers, redirect: "manual" });
    this.store(response);
    return response;
  }
}
