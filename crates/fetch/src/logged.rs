//! A transport that reports each metadata file it fetched (`samizdat verify --verbose`).

use trust::client::{FetchError, Transport};

/// `inner`, with `log(path, bytes)` called for each file under `metadata/` it fetched.
///
/// Only single fetches go through `inner`: batches are asked one file at a time (the trait's
/// default), so that each is seen.
pub struct Logged<T, F> {
    inner: T,
    log: F,
}

impl<T: Transport, F: Fn(&str, usize)> Logged<T, F> {
    pub fn new(inner: T, log: F) -> Logged<T, F> {
        Logged { inner, log }
    }
}

impl<T: Transport, F: Fn(&str, usize)> Transport for Logged<T, F> {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        let result = self.inner.fetch(path, max_len);
        if let Ok(bytes) = &result
            && path.starts_with("metadata/")
        {
            (self.log)(path, bytes.len());
        }
        result
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    struct Fixed;

    impl Transport for Fixed {
        fn fetch(&self, path: &str, _max_len: u64) -> Result<Vec<u8>, FetchError> {
            if path.ends_with("missing.json") {
                Err(FetchError::NotFound)
            } else {
                Ok(b"four".to_vec())
            }
        }
        fn describe(&self) -> String {
            "fixed".into()
        }
    }

    #[test]
    fn reports_the_metadata_fetched_and_nothing_else() {
        let seen = RefCell::new(Vec::new());
        let logged = Logged::new(Fixed, |path: &str, len| {
            seen.borrow_mut().push(format!("{path} {len}"))
        });
        logged.fetch("metadata/timestamp.json", 10).expect("fetch");
        logged.fetch("targets/abc.x.txt", 10).expect("fetch");
        assert!(logged.fetch("metadata/missing.json", 10).is_err());
        let batch = logged.fetch_batch(&[("metadata/1.root.json".into(), 10)]);
        assert_eq!(batch.len(), 1);
        assert_eq!(logged.describe(), "fixed");
        assert_eq!(
            *seen.borrow(),
            ["metadata/timestamp.json 4", "metadata/1.root.json 4"]
        );
    }
}
