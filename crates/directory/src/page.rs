//! The status page: plain HTML, no script, every field escaped (operators write their own
//! provider names and contacts).

use std::fmt::Write;

use crate::store::Mirror;

pub use common::html::escape;

/// The page listing `mirrors`: counts by state, then one row each.
pub fn status(mirrors: &[Mirror]) -> String {
    let listed = mirrors.iter().filter(|m| m.is_listed()).count();
    let mut rows = String::new();
    for mirror in mirrors {
        let _ = writeln!(
            rows,
            "<tr><td>{url}</td><td>{state}{disabled}</td><td>{country}</td><td>{provider}</td>\
             <td>{release}</td><td>{latency}</td><td>{reason}</td></tr>",
            url = escape(&mirror.url),
            state = mirror.state,
            disabled = if mirror.disabled { " (disabled)" } else { "" },
            country = escape(&mirror.country),
            provider = escape(&mirror.provider),
            release = mirror.release.map(|r| r.to_string()).unwrap_or_default(),
            latency = mirror
                .latency_ms
                .map(|ms| format!("{ms} ms"))
                .unwrap_or_default(),
            reason = escape(&mirror.reason),
        );
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>samizdat directory</title>\
         <style>body{{font-family:sans-serif;margin:1rem}}table{{border-collapse:collapse}}\
         td,th{{border-bottom:1px solid #ccc;padding:.25rem .5rem;text-align:left}}</style>\
         </head><body><h1>Mirrors</h1>\
         <p>{listed} of {total} enrolled mirrors are listed. \
         The signed list: <a href=\"/targets/\">mirrors.json</a> through \
         <a href=\"/metadata/timestamp.json\">timestamp.json</a>.</p>\
         <table><thead><tr><th>URL</th><th>State</th><th>Country</th><th>Provider</th>\
         <th>Release</th><th>Audit time</th><th>Why</th></tr></thead><tbody>\n{rows}</tbody></table>\
         </body></html>\n",
        total = mirrors.len(),
    )
}

/// The coverage section of the status page: the floor, and the documents under it (at most
/// `shown`, then how many more).
pub fn coverage(coverage: &crate::coverage::Coverage, shown: usize) -> String {
    let release = coverage
        .release
        .map(|r| format!("release {r}"))
        .unwrap_or_else(|| "no release verified yet".to_owned());
    let mut out = format!(
        "<h2>Coverage</h2><p>{release}: {documents} documents, {serving} listed mirrors serve it. \
         Floor: {floor} countries; {under} documents under it \
         (<a href=\"/coverage.json\">coverage.json</a>).</p>\n",
        documents = coverage.documents,
        serving = coverage.serving_mirrors,
        floor = coverage.floor_countries,
        under = coverage.under_floor.len(),
    );
    if !coverage.under_floor.is_empty() {
        out.push_str(
            "<table id=\"under-floor\"><thead><tr><th>Document</th><th>Mirrors</th>\
             <th>Countries</th><th>Providers</th></tr></thead><tbody>\n",
        );
        for document in coverage.under_floor.iter().take(shown) {
            let _ = writeln!(
                out,
                "<tr><td>{id}</td><td>{mirrors}</td><td>{countries}</td><td>{providers}</td></tr>",
                id = escape(&document.id),
                mirrors = document.mirrors,
                countries = document.countries,
                providers = document.providers,
            );
        }
        out.push_str("</tbody></table>\n");
        let more = coverage.under_floor.len().saturating_sub(shown);
        if more > 0 {
            let _ = writeln!(out, "<p>… and {more} more.</p>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_what_operators_write_is_shown_not_run() {
        assert_eq!(
            escape(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
    }
}
