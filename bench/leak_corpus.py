#!/usr/bin/env python3
"""A leak-like corpus (issue 20, must-show 1), built from the real corpora of ../shared/corpora.

    bench/leak_corpus.py CORPORA DEST [N]

CORPORA is the folder ./test.sh fetches the corpora into (.cache/corpora); DEST is made anew.
N (default 40) documents of each office kind. What it holds, and where from:

  office/         linux-doc prose (.rst, the first N in name order of Documentation/admin-guide
                  and process) turned into DOCX, ODT and RTF by LibreOffice headless; tables
                  of spam-assassin headers (From, Subject, Date of 25 messages each) as XLSX and
                  ODS; slides (a heading and its paragraphs per slide) of the same prose as PPTX
                  and ODP, written as flat ODF and converted by LibreOffice, and the PPTX
                  converted again to legacy PPT
  legacy/         linux-doc's Italian translations re-encoded to Latin-1 and Windows-1252
  zipped/         office/ zipped, tarred (tar.gz, tar.xz), nested (a zip in a tar.gz), and zipped
                  inside e-mails as attachments
  outlook/        the .msg files of PyPI's msg-parser 1.2.0 and the Enron PST of npm's
                  pst-extractor 1.12.0 (from CORPORA/outlook)
  oracle/         LibreOffice's own text export of each office file (Text for documents and
                  presentations through PDF: pdftotext; CSV for spreadsheets), by the file's
                  name: what ingest's text is compared with
  titles.json     the title each office file's source has, by the file's name: the prose's
                  reStructuredText heading (the first line over an underline of = - ~ ^ * # +,
                  not a `..` comment) for its DOCX, ODT and RTF; the first slide's first line
                  (that heading, put there) for its PPTX, ODP and PPT; null for the tables, which
                  have none (their file name is the right title)

Needs: soffice (libreoffice-writer-nogui, -calc-nogui, -impress-nogui), pdftotext.
"""
import email.message
import email.parser
import email.policy
import gzip
import html
import io
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

corpora, dest = Path(sys.argv[1]), Path(sys.argv[2])
n = int(sys.argv[3]) if len(sys.argv) > 3 else 40
doc_root = corpora / "linux-doc/x/usr/share/doc/linux-doc-6.1/Documentation"
if not doc_root.is_dir():
    sys.exit(f"{doc_root}: not found (run ./test.sh, which fetches the corpora)")
if dest.exists():
    shutil.rmtree(dest)
for sub in ["office", "legacy", "zipped", "outlook", "oracle", "work"]:
    (dest / sub).mkdir(parents=True)
work = dest / "work"


def soffice(args, cwd):
    subprocess.run(
        ["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{work}/profile"] + args,
        cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)


def read_rst(p):
    """A linux-doc page: Debian ships them gzipped (`NAME.rst.gz`)."""
    return gzip.decompress(p.read_bytes()).decode("utf-8", errors="replace")


ADORNMENT = set("=-~^*#+")


def is_adornment(line):
    line = line.strip()
    return len(line) >= 3 and set(line) <= ADORNMENT


def heading(text):
    """The first reStructuredText heading: a line (not a `..` comment) over an adornment."""
    lines = text.splitlines()
    for i, line in enumerate(lines[:-1]):
        title = line.strip()
        if title and not title.startswith("..") and not is_adornment(title) \
                and is_adornment(lines[i + 1]) and len(lines[i + 1].strip()) >= len(title):
            return " ".join(title.split())
    return None


titles = {}


# Prose: the first N pages (over 1 KB gzipped) of two folders, in name order.
prose = sorted(p for folder in ["admin-guide", "process"] for p in (doc_root / folder).rglob("*.rst.gz")
               if p.stat().st_size > 1024)[:n]
texts = work / "texts"
texts.mkdir()
for p in prose:
    name = "-".join(p.relative_to(doc_root).with_suffix("").with_suffix("").parts)
    (texts / f"{name}.txt").write_text(read_rst(p))
for kind in ["docx", "odt", "rtf"]:
    soffice(["--convert-to", kind, "--outdir", str(dest / "office")] + sorted(str(t) for t in texts.iterdir()), work)
for t in texts.iterdir():
    for kind in ["docx", "odt", "rtf"]:
        titles[f"{t.stem}.{kind}"] = heading(t.read_text())

# Tables: spam-assassin headers, 25 messages a sheet.
messages = sorted((corpora / "spam-assassin/package/data/easy-ham-1").glob("*.txt"))
messages = [m for m in messages if m.is_file() and m.stat().st_size < 100_000][: 25 * n]
tables = work / "tables"
tables.mkdir()
parser = email.parser.BytesParser(policy=email.policy.default)
for t in range(n):
    rows = ["From,Subject,Date"]
    for m in messages[25 * t: 25 * t + 25]:
        try:
            msg = parser.parsebytes(m.read_bytes(), headersonly=True)
            fields = [str(msg.get(h, "")) for h in ["From", "Subject", "Date"]]
        except Exception:
            continue
        rows.append(",".join('"' + f.replace('"', "'").replace("\n", " ") + '"' for f in fields))
    (tables / f"headers-{t:03}.csv").write_text("\n".join(rows) + "\n")
    for kind in ["xlsx", "ods"]:
        titles[f"headers-{t:03}.{kind}"] = None
for kind in ["xlsx", "ods"]:
    soffice(["--convert-to", kind, "--outdir", str(dest / "office")] + sorted(str(t) for t in tables.iterdir()), work)

# Slides: flat ODF presentations, a slide per section of the prose.
slides = work / "slides"
slides.mkdir()
head = ('<?xml version="1.0" encoding="UTF-8"?>\n<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
        'office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.presentation"><office:body><office:presentation>\n')
for t in sorted(texts.iterdir()):
    # Without the headings' adornments (a heading is then a paragraph of its own) and the `..`
    # comments: the first paragraph is the heading, the title slide's first line.
    prose = "\n".join("" if is_adornment(line) else line for line in t.read_text().splitlines())
    paragraphs = [p.strip() for p in prose.split("\n\n") if p.strip() and not p.strip().startswith("..")]
    for kind in ["pptx", "odp", "ppt"]:
        titles[f"{t.stem}-slides.{kind}"] = " ".join(paragraphs[0].split()) if paragraphs else None
    out = [head]
    for s in range(0, min(len(paragraphs), 24), 3):
        out.append(f'<draw:page draw:name="s{s}"><draw:frame svg:x="1cm" svg:y="1cm" svg:width="26cm" svg:height="17cm"><draw:text-box>')
        for p in paragraphs[s:s + 3]:
            out.append(f"<text:p>{html.escape(' '.join(p.split()))}</text:p>")
        out.append("</draw:text-box></draw:frame></draw:page>\n")
    out.append("</office:presentation></office:body></office:document>\n")
    (slides / f"{t.stem}-slides.fodp").write_text("".join(out))
for kind in ["pptx", "odp"]:
    soffice(["--convert-to", kind, "--outdir", str(dest / "office")] + sorted(str(s) for s in slides.iterdir()), work)
soffice(["--convert-to", "ppt", "--outdir", str(dest / "office")] + sorted(str(f) for f in (dest / "office").glob("*.pptx")), work)
(dest / "titles.json").write_text(json.dumps(titles, indent=1, sort_keys=True) + "\n")

# The oracle: LibreOffice's own export of each office file.
oracle_work = work / "oracle"
office = sorted((dest / "office").iterdir())
filters = {".docx": "txt:Text (encoded):UTF8", ".odt": "txt:Text (encoded):UTF8", ".rtf": "txt:Text (encoded):UTF8",
           ".xlsx": "csv", ".ods": "csv", ".pptx": "pdf", ".odp": "pdf", ".ppt": "pdf"}
# One call per kind, each into its own folder (a.docx and a.odt both export as a.txt).
for suffix, kind in filters.items():
    out = oracle_work / suffix[1:]
    out.mkdir(parents=True)
    soffice(["--convert-to", kind, "--outdir", str(out)] + [str(f) for f in office if f.suffix == suffix], work)
    for produced in out.iterdir():
        target = dest / "oracle" / (produced.stem + suffix + ".txt")
        if produced.suffix == ".pdf":
            subprocess.run(["pdftotext", "-enc", "UTF-8", str(produced), str(target)], check=True)
        else:
            shutil.copy(produced, target)

# Legacy encodings: translations re-encoded.
translations = sorted((doc_root / "translations/it_IT").rglob("*.rst.gz"))
legacy = translations[:n]
for i, p in enumerate(legacy):
    text = read_rst(p)
    codec = "latin-1" if i % 2 == 0 else "cp1252"
    (dest / "legacy" / f"{i:03}-{Path(p.stem).stem}.{codec}.txt").write_bytes(text.encode(codec, errors="replace"))

# Archives: the office folder zipped, tarred, nested, and inside e-mails.
zipped = dest / "zipped"
with zipfile.ZipFile(zipped / "office.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for f in office[: len(office) // 3]:
        z.write(f, f"office/{f.name}")
with tarfile.open(zipped / "office.tar.gz", "w:gz") as t:
    for f in office[len(office) // 3: 2 * len(office) // 3]:
        t.add(f, f"office/{f.name}")
inner = io.BytesIO()
with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
    for f in office[2 * len(office) // 3:][:10]:
        z.write(f, f"nested/{f.name}")
with tarfile.open(zipped / "nested.tar.xz", "w:xz") as t:
    info = tarfile.TarInfo("inner/nested.zip")
    info.size = len(inner.getvalue())
    t.addfile(info, io.BytesIO(inner.getvalue()))
for i, f in enumerate(office[2 * len(office) // 3 + 10:][:20]):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(f, f.name)
    msg = email.message.EmailMessage()
    msg["From"] = "Leaker <leak@example.org>"
    msg["To"] = "desk@example.org"
    msg["Subject"] = f"Documents {i}"
    msg["Date"] = "Tue, 12 Apr 2011 10:00:00 +0000"
    msg["Message-ID"] = f"<leak-{i}@example.org>"
    msg.set_content(f"Attached: {f.name}, zipped.\n")
    msg.add_attachment(buffer.getvalue(), maintype="application", subtype="zip", filename=f"{f.stem}.zip")
    (zipped / f"mail-{i:02}.eml").write_bytes(msg.as_bytes())

# Outlook: real samples.
for sub, pattern in [("msg", "*.msg"), ("pst", "*.pst")]:
    for f in sorted((corpora / "outlook" / sub).glob(pattern)):
        shutil.copy(f, dest / "outlook" / f.name)

shutil.rmtree(work)
count = {d.name: sum(1 for _ in d.rglob("*") if _.is_file()) for d in sorted(dest.iterdir())}
print(f"{dest}: {count}")
