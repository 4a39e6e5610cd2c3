"""Independent check of a samizdat release with python-tuf's ngclient.

Usage: ngclient_check.py METADATA_CACHE_DIR BASE_URL DOWNLOAD_DIR TARGET [TARGET...]

METADATA_CACHE_DIR must hold the trusted root.json (and, on later runs, ngclient's cache of the
last verified metadata, which is what makes it refuse a rollback). For each TARGET, prints one line:
  OK <name> <sha256>      downloaded and verified
  MISSING <name>          not in the signed metadata
  FAIL <name> <error>     refused (tampered, wrong length...)
A failure to refresh the metadata (bad signature, rollback, expired...) prints
  REFRESH-FAILED <ExceptionClass> <message>[: <CauseClass> <message>...]
and exits 2.
"""

import hashlib
import sys

from tuf.ngclient import Updater


def main() -> int:
    metadata_dir, base_url, download_dir, *targets = sys.argv[1:]
    base_url = base_url.rstrip("/")
    updater = Updater(
        metadata_dir=metadata_dir,
        metadata_base_url=f"{base_url}/metadata/",
        target_base_url=f"{base_url}/targets/",
        target_dir=download_dir,
        bootstrap=None,  # trust the root.json already in metadata_dir (tuf >= 6)
    )
    try:
        updater.refresh()
    except Exception as e:  # noqa: BLE001 - report the exact class to the Rust test
        # With its causes: python-tuf wraps the reason ("Failed to deserialize JSON").
        causes, cause = "", e.__cause__
        while cause is not None:
            causes += f": {type(cause).__name__} {cause}"
            cause = cause.__cause__
        print(f"REFRESH-FAILED {type(e).__name__} {e}{causes}")
        return 2
    for name in targets:
        info = updater.get_targetinfo(name)
        if info is None:
            print(f"MISSING {name}")
            continue
        try:
            path = updater.download_target(info)
        except Exception as e:  # noqa: BLE001
            print(f"FAIL {name} {type(e).__name__} {e}")
            continue
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        print(f"OK {name} {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
