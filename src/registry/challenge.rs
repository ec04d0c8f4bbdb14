//! `WWW-Authenticate` challenges (Basic and Bearer) and the token endpoint's answer.

use std::collections::HashMap;

/// What a registry asked for when it answered 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses the first usable challenge of a `WWW-Authenticate` header value.
pub(super) fn parse(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(char::is_whitespace).unwrap_or((header, ""));
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => {
            let mut params = parse_params(rest);
            Some(Challenge::Bearer {
                realm: params.remove("realm")?,
                service: params.remove("service"),
                scope: params.remove("scope"),
            })
        }
        _ => None,
    }
}

/// `key="value", key2=value2` with quoted values that may contain commas.
fn parse_params(input: &str) -> HashMap<String, String> {
    let mut params = HashMap::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            let mut value = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
            value
        } else {
            chars
                .by_ref()
                .take_while(|c| *c != ',')
                .collect::<String>()
                .trim()
                .to_string()
        };
        params.insert(key.trim().to_ascii_lowercase(), value);
    }
    params
}

/// The token endpoint's JSON answer (`token` per the distribution spec, `access_token` per OAuth2).
#[derive(Debug, serde::Deserialize)]
pub(super) struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    /// Seconds the token is valid; the spec's default is 60.
    expires_in: Option<u64>,
}

impl TokenResponse {
    /// The token and how long to use it: 80% of its lifetime, so a request never starts with an expiring token.
    pub(super) fn into_token(self) -> Option<(String, std::time::Duration)> {
        let lifetime = self.expires_in.unwrap_or(60).max(10);
        let token = self.token.or(self.access_token).filter(|t| !t.is_empty())?;
        Some((token, std::time::Duration::from_secs(lifetime * 4 / 5)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_with_quoted_commas() {
        let header = r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push""#;
        assert_eq!(
            parse(header),
            Some(Challenge::Bearer {
                realm: "https://auth.example.com/token".into(),
                service: Some("registry.example.com".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(parse(r#"Basic realm="Registry Realm""#), Some(Challenge::Basic));
        assert_eq!(parse("Negotiate"), None);
        assert_eq!(parse("Bearer service=x"), None, "a bearer challenge needs a realm");
    }

    #[test]
    fn token_lifetime_defaults_to_the_spec_and_is_used_for_80_percent() {
        let parsed: TokenResponse = serde_json::from_str(r#"{"access_token":"abc","expires_in":300}"#).unwrap();
        assert_eq!(
            parsed.into_token(),
            Some(("abc".to_string(), std::time::Duration::from_secs(240)))
        );
        let parsed: TokenResponse = serde_json::from_str(r#"{"token":"t"}"#).unwrap();
        assert_eq!(parsed.into_token().map(|(_, d)| d.as_secs()), Some(48));
        let empty: TokenResponse = serde_json::from_str(r#"{"token":""}"#).unwrap();
        assert_eq!(empty.into_token(), None);
    }
}
