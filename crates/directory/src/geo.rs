//! The country of a client's address, from a MaxMind-format database (GeoLite2-Country,
//! DB-IP country lite: `country.iso_code`), read once at start (`geoip_db` in
//! `directory.toml`). `/r/` prefers mirrors in the client's country.

use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, ErrorKind, Result};

/// A country database, in memory.
pub struct Geo {
    reader: maxminddb::Reader<Vec<u8>>,
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country: Option<Country<'a>>,
}

#[derive(Deserialize)]
struct Country<'a> {
    iso_code: Option<&'a str>,
}

impl Geo {
    /// Reads the database at `path`; the error names the file.
    pub fn open(path: &Path) -> Result<Geo> {
        let reader = maxminddb::Reader::open_readfile(path).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{}: not a readable MaxMind-format country database: {e}",
                    path.display()
                ),
            )
        })?;
        Ok(Geo { reader })
    }

    /// The two-letter country code (upper case) of `address`, when the database knows it.
    pub fn country(&self, address: IpAddr) -> Option<String> {
        // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        let found = self.reader.lookup(address).ok()?;
        let record: Record = found.decode().ok()??;
        let code = record.country?.iso_code?;
        (code.len() == 2 && code.is_ascii()).then(|| code.to_ascii_uppercase())
    }
}

/// A MaxMind-format country database in `dir` (written by `mmdb-writer` under
/// `SAMIZDAT_PYTHON`, as GeoLite2-Country is shaped: an IPv6 tree, IPv4 under `::/96`):
/// 127.0.0.0/25 → FR, 127.0.0.128/26 → DE, 2001:db8::/32 → SE, the rest unknown.
#[cfg(test)]
pub(crate) fn test_database(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("country.mmdb");
    let python = std::env::var("SAMIZDAT_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = "import sys\n\
from mmdb_writer import MMDBWriter\n\
from netaddr import IPSet\n\
w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type='GeoLite2-Country')\n\
w.insert_network(IPSet(['127.0.0.0/25']), {'country': {'iso_code': 'FR'}})\n\
w.insert_network(IPSet(['127.0.0.128/26']), {'country': {'iso_code': 'DE'}})\n\
w.insert_network(IPSet(['2001:db8::/32']), {'country': {'iso_code': 'SE'}})\n\
w.to_db_file(sys.argv[1])\n";
    let status = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(&path)
        .status()
        .unwrap_or_else(|e| panic!("{python}: {e} (set SAMIZDAT_PYTHON to test.sh's venv)"));
    assert!(
        status.success(),
        "{python} could not write a country database (pip install mmdb-writer, as test.sh does)"
    );
    path
}
