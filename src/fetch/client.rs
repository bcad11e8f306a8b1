//! The HTTP client of one run, built on first use from the options the CLI
//! gave: a run whose sources are all directories never builds it, so a bad
//! CA file or proxy setting fails only the HTTP sources it concerns.

use std::sync::OnceLock;

use super::{FetchError, Http, HttpOptions};

pub struct Client {
    opts: HttpOptions,
    http: OnceLock<Http>,
}

impl Client {
    pub fn new(opts: HttpOptions) -> Client {
        Client {
            opts,
            http: OnceLock::new(),
        }
    }

    /// The client, building it on the first call. A failed build is not
    /// kept: each later call tries again and reports the same error.
    pub fn http(&self) -> Result<&Http, FetchError> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let built = Http::new(self.opts.clone())?;
        Ok(self.http.get_or_init(|| built))
    }

    pub fn options(&self) -> &HttpOptions {
        &self.opts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_ca_file_fails_only_when_http_is_used() {
        let opts = HttpOptions {
            ca_file: Some("/nonexistent/golock-ca.pem".into()),
            ..HttpOptions::default()
        };
        let client = Client::new(opts);
        let err = client.http().err().expect("a missing CA file must fail");
        assert!(matches!(err, FetchError::CaFile { .. }), "{err}");
        assert!(matches!(client.http(), Err(FetchError::CaFile { .. })));
    }

    #[test]
    fn the_client_is_built_once() {
        let client = Client::new(HttpOptions::default());
        let first: *const Http = client.http().unwrap();
        let second: *const Http = client.http().unwrap();
        assert_eq!(first, second);
    }
}
