//! Outbound HTTP proxies: which proxy (if any) a URL goes through, with the
//! semantics of Go's `golang.org/x/net/http/httpproxy`, which is what
//! cmd/go and most Go users' setups expect.
//!
//! * `HTTP_PROXY` serves `http://` URLs, `HTTPS_PROXY` serves `https://`
//!   URLs (uppercase wins over lowercase; no cross-fallback, no `ALL_PROXY`).
//! * A proxy value without a scheme means `http://`.
//! * `NO_PROXY` is a comma list: `*` (no proxy at all), an IP, a CIDR, a
//!   host name (matches itself and its subdomains), `.example.com` or
//!   `*.example.com` (subdomains only); any entry may end in `:port`,
//!   which must then match too.
//! * `localhost` and loopback addresses are never proxied.

use std::net::IpAddr;

/// Parsed `NO_PROXY`.
#[derive(Clone, Debug, Default)]
pub struct NoProxy {
    all: bool,
    entries: Vec<Entry>,
}

#[derive(Clone, Debug)]
enum Entry {
    Ip(IpAddr, Option<u16>),
    Cidr(IpAddr, u8),
    /// `example.com`: the host and its subdomains.
    Domain(String, Option<u16>),
    /// `.example.com`: subdomains only.
    Subdomains(String, Option<u16>),
}

impl NoProxy {
    pub fn parse(list: &str) -> NoProxy {
        let mut out = NoProxy::default();
        for raw in list.split(',') {
            let item = raw.trim().to_ascii_lowercase();
            if item.is_empty() {
                continue;
            }
            if item == "*" {
                out.all = true;
                continue;
            }
            if let Some(entry) = parse_entry(&item) {
                out.entries.push(entry);
            }
        }
        out
    }

    /// Whether a request to `host:port` must bypass the proxy.
    pub fn bypass(&self, host: &str, port: u16) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if host == "localhost" || host.ends_with(".localhost") {
            return true;
        }
        let ip = host.parse::<IpAddr>().ok();
        if ip.is_some_and(|ip| ip.is_loopback()) {
            return true;
        }
        if self.all {
            return true;
        }
        self.entries.iter().any(|e| e.matches(&host, ip, port))
    }
}

fn parse_entry(item: &str) -> Option<Entry> {
    if let Some((addr, bits)) = item.split_once('/') {
        let addr: IpAddr = addr.parse().ok()?;
        let bits: u8 = bits.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        return (bits <= max).then_some(Entry::Cidr(addr, bits));
    }
    if let Ok(ip) = item
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Some(Entry::Ip(ip, None));
    }
    let (host, port) = split_port(item);
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Some(Entry::Ip(ip, port));
    }
    if let Some(rest) = host.strip_prefix("*.") {
        return Some(Entry::Subdomains(format!(".{rest}"), port));
    }
    if host.starts_with('.') {
        return Some(Entry::Subdomains(host.to_string(), port));
    }
    Some(Entry::Domain(host.to_string(), port))
}

/// `host:port` → (host, Some(port)); anything else → (item, None).
fn split_port(item: &str) -> (&str, Option<u16>) {
    match item.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !h.ends_with(':') => match p.parse() {
            Ok(port) => (h, Some(port)),
            Err(_) => (item, None),
        },
        _ => (item, None),
    }
}

impl Entry {
    fn matches(&self, host: &str, ip: Option<IpAddr>, port: u16) -> bool {
        let port_ok = |p: &Option<u16>| p.is_none_or(|p| p == port);
        match self {
            Entry::Ip(want, p) => ip == Some(*want) && port_ok(p),
            Entry::Cidr(net, bits) => ip.is_some_and(|ip| in_cidr(ip, *net, *bits)),
            Entry::Domain(d, p) => port_ok(p) && (host == d || host.ends_with(&format!(".{d}"))),
            Entry::Subdomains(suffix, p) => port_ok(p) && host.ends_with(suffix.as_str()),
        }
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => prefix_eq(&a.octets(), &b.octets(), bits),
        (IpAddr::V6(a), IpAddr::V6(b)) => prefix_eq(&a.octets(), &b.octets(), bits),
        _ => false,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let mut left = usize::from(bits);
    for (x, y) in a.iter().zip(b) {
        if left == 0 {
            return true;
        }
        let take = left.min(8);
        let mask = 0xffu8 << (8 - take);
        if x & mask != y & mask {
            return false;
        }
        left -= take;
    }
    true
}

/// Normalise a proxy setting: empty means none; no scheme means `http://`.
pub fn normalize_proxy(value: &str) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if v.contains("://") {
        Some(v.to_string())
    } else {
        Some(format!("http://{v}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_matches_like_go() {
        let np = NoProxy::parse(
            " corp.example, .internal ,*.svc, 10.0.0.0/8, 192.168.1.5, mirror.io:8443, [::2]",
        );
        assert!(np.bypass("corp.example", 443));
        assert!(np.bypass("a.b.CORP.example", 443));
        assert!(!np.bypass("notcorp.example", 443));
        assert!(np.bypass("x.internal", 80));
        assert!(!np.bypass("internal", 80));
        assert!(np.bypass("a.svc", 80));
        assert!(!np.bypass("svc", 80));
        assert!(np.bypass("10.2.3.4", 80));
        assert!(!np.bypass("11.2.3.4", 80));
        assert!(np.bypass("192.168.1.5", 80));
        assert!(np.bypass("mirror.io", 8443));
        assert!(!np.bypass("mirror.io", 443));
        assert!(np.bypass("[::2]", 80));
        assert!(!np.bypass("proxy.golang.org", 443));
    }

    #[test]
    fn loopback_and_star_bypass() {
        let none = NoProxy::parse("");
        assert!(none.bypass("localhost", 1));
        assert!(none.bypass("127.0.0.1", 1));
        assert!(none.bypass("[::1]", 1));
        assert!(!none.bypass("example.com", 1));
        assert!(NoProxy::parse("*").bypass("example.com", 1));
    }

    #[test]
    fn proxy_values_get_a_default_scheme() {
        assert_eq!(
            normalize_proxy("proxy:3128").as_deref(),
            Some("http://proxy:3128")
        );
        assert_eq!(normalize_proxy("https://p").as_deref(), Some("https://p"));
        assert_eq!(normalize_proxy("  "), None);
    }
}
