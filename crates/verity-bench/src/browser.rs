//! Just enough of a browser to walk sign-in pages: a cookie jar and HTML form reading.
//!
//! Both are deliberately small. The pages walked are the provider's own (Verity's templates,
//! node-oidc-provider's development interactions), so a scanner over `<form>`, `<input>` and
//! `<button>` tags is enough, and cookies are sent to every path of the one origin under test.

use reqwest::header::{HeaderMap, HeaderValue, SET_COOKIE};

/// Cookies of one origin, by name.
#[derive(Debug, Default, Clone)]
pub struct Jar {
    cookies: Vec<(String, String)>,
}

impl Jar {
    /// Forgets every cookie (a fresh browser).
    pub fn clear(&mut self) {
        self.cookies.clear();
    }

    /// Whether the jar holds no cookie.
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// The `Cookie` header value, `None` when empty.
    pub fn header(&self) -> Option<HeaderValue> {
        if self.cookies.is_empty() {
            return None;
        }
        let joined = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        HeaderValue::from_str(&joined).ok()
    }

    /// Takes in every `Set-Cookie` of an answer; an empty value, `Max-Age=0` or an expiry in
    /// 1970 deletes the cookie.
    pub fn absorb(&mut self, headers: &HeaderMap) {
        for raw in headers.get_all(SET_COOKIE) {
            let Ok(line) = raw.to_str() else { continue };
            let mut parts = line.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            let deleted = value.is_empty()
                || parts.any(|a| {
                    let a = a.trim().to_ascii_lowercase();
                    a == "max-age=0" || (a.starts_with("expires=") && a.contains("1970"))
                });
            self.cookies.retain(|(n, _)| n != name);
            if !deleted {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }
}

/// One `<form>` of a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pub action: String,
    /// `<input name value>` in order (hidden ones included).
    pub inputs: Vec<(String, String)>,
    /// `<button name value>` (submit buttons that carry a value).
    pub buttons: Vec<(String, String)>,
}

impl Form {
    /// Whether the form has an input named `name`.
    pub fn has_input(&self, name: &str) -> bool {
        self.inputs.iter().any(|(n, _)| n == name)
    }

    /// Whether the form has a submit button `name` with `value`.
    pub fn has_button(&self, name: &str, value: &str) -> bool {
        self.buttons.iter().any(|(n, v)| n == name && v == value)
    }
}

/// Every form of an HTML page.
pub fn forms(html: &str) -> Vec<Form> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<form").map(|i| at + i) {
        let end = lower[start..]
            .find("</form")
            .map_or(html.len(), |i| start + i);
        let body = &html[start..end];
        let mut form = Form::default();
        for (tag, attrs) in tags(body) {
            let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            match tag.as_str() {
                "form" => form.action = get("action").unwrap_or_default(),
                "input" => {
                    if let Some(name) = get("name") {
                        form.inputs.push((name, get("value").unwrap_or_default()));
                    }
                }
                "button" => {
                    if let Some(name) = get("name") {
                        form.buttons.push((name, get("value").unwrap_or_default()));
                    }
                }
                _ => {}
            }
        }
        out.push(form);
        at = end.max(start + 5);
    }
    out
}

/// `(tag name, attributes)` of every start tag in `html`, names lowercased, values unescaped.
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt + 1..];
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        if name_len == 0 {
            continue;
        }
        let name = rest[..name_len].to_ascii_lowercase();
        rest = &rest[name_len..];
        let mut attrs = Vec::new();
        loop {
            rest = rest.trim_start();
            if rest.is_empty() || rest.starts_with('>') || rest.starts_with("/>") {
                break;
            }
            let key_len = rest
                .find(|c: char| c.is_whitespace() || c == '=' || c == '>' || c == '/')
                .unwrap_or(rest.len())
                .max(1);
            let key = rest[..key_len].to_ascii_lowercase();
            rest = rest[key_len..].trim_start();
            let value = if let Some(after) = rest.strip_prefix('=') {
                let after = after.trim_start();
                let (v, remaining) = match after.chars().next() {
                    Some(q @ ('"' | '\'')) => {
                        let inner = &after[1..];
                        let close = inner.find(q).unwrap_or(inner.len());
                        (&inner[..close], &inner[(close + 1).min(inner.len())..])
                    }
                    _ => {
                        let stop = after
                            .find(|c: char| c.is_whitespace() || c == '>')
                            .unwrap_or(after.len());
                        (&after[..stop], &after[stop..])
                    }
                };
                rest = remaining;
                unescape(v)
            } else {
                String::new()
            };
            attrs.push((key, value));
        }
        out.push((name, attrs));
    }
    out
}

/// The character references templates produce in attribute values.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_verity_sign_in_form() {
        let html = r#"<form method="post" action="/oauth/interaction/ab12/signin">
  <input type="hidden" name="csrf_token" value="c0ffee">
  <input id="email" name="email" type="email" required autofocus value="">
  <input id="password" name="password" type="password" required>
  <button type="submit" class="primary">Sign in</button>
</form>
<form method="post" action="/oauth/interaction/ab12/cancel" class="cancel">
  <input type="hidden" name="csrf_token" value="c0ffee">
  <button type="submit" name="decision" value="cancel" class="link">Cancel</button>
</form>"#;
        let f = forms(html);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].action, "/oauth/interaction/ab12/signin");
        assert!(f[0].has_input("password"));
        assert_eq!(f[0].inputs[0], ("csrf_token".into(), "c0ffee".into()));
        assert!(f[1].has_button("decision", "cancel"));
    }

    #[test]
    fn reads_node_oidc_forms_and_escapes() {
        let html = "<FORM autocomplete=off action='/interaction/x&amp;y/login' method=post>\
                    <input required type=text name=login autofocus=on>\
                    <input required type=password name=password placeholder=\"and password\">\
                    </FORM>";
        let f = forms(html);
        assert_eq!(f[0].action, "/interaction/x&y/login");
        assert!(f[0].has_input("login") && f[0].has_input("password"));
    }

    #[test]
    fn jar_sets_replaces_and_deletes() {
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            HeaderValue::from_static("a=1; Path=/; HttpOnly"),
        );
        h.append(SET_COOKIE, HeaderValue::from_static("b=2; path=/x"));
        let mut jar = Jar::default();
        jar.absorb(&h);
        let mut h2 = HeaderMap::new();
        h2.append(SET_COOKIE, HeaderValue::from_static("a=3"));
        h2.append(
            SET_COOKIE,
            HeaderValue::from_static("b=; expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        );
        jar.absorb(&h2);
        assert_eq!(jar.header(), Some(HeaderValue::from_static("a=3")));
    }
}
