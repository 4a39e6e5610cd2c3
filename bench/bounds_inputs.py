"""Large inputs for bench/bounds.sh (issue 15, item 19): python3 bounds_inputs.py DIR CASE..."""
import base64, os, sys, zipfile

MiB = 1 << 20
out = sys.argv[1]
which = sys.argv[2:]
os.makedirs(out, exist_ok=True)
CHUNK = b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor " * 13000  # ~1 MB

def pdf(path, pad):
    """A one-page PDF with text, and an unreferenced stream of `pad` bytes."""
    objs = []
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>")
    content = b"BT /F1 24 Tf 72 700 Td (A big padded PDF) Tj ET"
    objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    with open(path, "wb") as f:
        f.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for i, o in enumerate(objs, 1):
            offsets.append(f.tell())
            f.write(b"%d 0 obj\n" % i + o + b"\nendobj\n")
        offsets.append(f.tell())
        n = len(objs) + 1
        f.write(b"%d 0 obj\n<< /Length %d >>\nstream\n" % (n, pad))
        left = pad
        while left:
            c = CHUNK[:min(left, len(CHUNK))]
            f.write(c); left -= len(c)
        f.write(b"\nendstream\nendobj\n")
        xref = f.tell()
        f.write(b"xref\n0 %d\n0000000000 65535 f \n" % (n + 1))
        for off in offsets:
            f.write(b"%010d 00000 n \n" % off)
        f.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (n + 1, xref))

def eml(path, attach, name="big.bin", ctype="application/octet-stream", payload=None):
    with open(path, "wb") as f:
        f.write(b"From: a@example.org\nTo: b@example.org\nSubject: A big attachment\n"
                b"Message-ID: <big-%d@example.org>\nDate: Mon, 1 Mar 2010 10:00:00 +0000\n"
                b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BOUND\"\n\n"
                b"--BOUND\nContent-Type: text/plain\n\nThe body of a message with a big attachment.\n"
                % attach)
        f.write(b"--BOUND\nContent-Type: %s\nContent-Transfer-Encoding: base64\n"
                b"Content-Disposition: attachment; filename=\"%s\"\n\n" % (ctype.encode(), name.encode()))
        if payload:
            with open(payload, "rb") as p:
                while True:
                    c = p.read(57 * 20000)
                    if not c: break
                    f.write(base64.encodebytes(c))
        else:
            left = attach
            block = os.urandom(57 * 20000)
            while left > 0:
                c = block[:min(left, len(block))]
                f.write(base64.encodebytes(c)); left -= len(c)
        f.write(b"--BOUND--\n")

def mbox(path, count, size):
    body = (CHUNK * (size // len(CHUNK) + 1))[:size]
    body = b"\n".join(body[i:i + 72] for i in range(0, len(body), 72))
    with open(path, "wb") as f:
        for i in range(count):
            f.write(b"From sender@example.org Mon Mar  1 10:00:00 2010\n"
                    b"From: s%d@example.org\nTo: b@example.org\nSubject: message %d\n"
                    b"Message-ID: <m%d@example.org>\nDate: Mon, 1 Mar 2010 10:00:00 +0000\n\n" % (i, i, i))
            f.write(body); f.write(b"\n\n")

def line(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            c = CHUNK[:min(left, len(CHUNK))]
            f.write(c); left -= len(c)
        f.write(b"\n")

def zipped(path, size):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
        with z.open("member.txt", "w", force_zip64=True) as m:
            left = size
            while left:
                c = CHUNK[:min(left, len(CHUNK))]
                m.write(c); left -= len(c)

G = 1 << 30
for w in which:
    d = os.path.join(out, w); os.makedirs(d, exist_ok=True)
    if w == "pdf": pdf(os.path.join(d, "big.pdf"), G)
    elif w == "eml": eml(os.path.join(d, "big.eml"), 760 * MiB)
    elif w == "emlpdf":
        pdf(os.path.join(out, "att.pdf"), 300 * MiB)
        eml(os.path.join(d, "pdf.eml"), 0, "att.pdf", "application/pdf", os.path.join(out, "att.pdf"))
        os.remove(os.path.join(out, "att.pdf"))
    elif w == "emlpdf40":
        pdf(os.path.join(out, "att40.pdf"), 40 * MiB)
        eml(os.path.join(d, "pdf40.eml"), 0, "att.pdf", "application/pdf", os.path.join(out, "att40.pdf"))
        os.remove(os.path.join(out, "att40.pdf"))
    elif w == "mbox": mbox(os.path.join(d, "big.mbox"), 20000, 50000)
    elif w == "line": line(os.path.join(d, "line.txt"), 2 * G)
    elif w == "zip": zipped(os.path.join(d, "big.zip"), 250 * MiB)
    elif w == "zipbig": zipped(os.path.join(d, "big.zip"), G)
