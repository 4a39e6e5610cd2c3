//! Hostile archives for tests, built here once for the crate's unit tests and the binary's
//! integration tests: a zip bomb written as a stream (10 GiB of zeros in about 10 MiB, without
//! compressing 10 GiB), the nesting around it, office documents, and a scanned PDF (images, no
//! text layer), a PNG bomb. Not used by `add`.

use std::io::{self, Write};

const MIB: u64 = 1 << 20;

/// Writes a zip holding one member `name` that expands to `mib` MiB of zeros (zip64 sizes),
/// and declares `declared` bytes (the true size, or a lie) in its headers. The deflate stream is
/// one compressed MiB of zeros repeated: each repetition is a block of its own that refers
/// only to the zeros just before it.
pub fn zeros_zip(out: &mut impl Write, name: &str, mib: u64, declared: u64) -> io::Result<()> {
    repeated_zip(out, name, &vec![0u8; MIB as usize], mib, declared)
}

/// As [`zeros_zip`], the member being `unit` repeated `count` times (a 1 GiB XML part of
/// one paragraph repeated, say).
pub fn repeated_zip(
    out: &mut impl Write,
    name: &str,
    unit: &[u8],
    count: u64,
    declared: u64,
) -> io::Result<()> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(unit)?;
    encoder.flush()?;
    let chunk = std::mem::take(encoder.get_mut());
    // The final, empty stored block.
    const END: [u8; 5] = [0x01, 0x00, 0x00, 0xFF, 0xFF];
    let compressed = chunk.len() as u64 * count + END.len() as u64;
    let mut one = crc32fast::Hasher::new();
    one.update(unit);
    let mut crc = crc32fast::Hasher::new();
    for _ in 0..count {
        crc.combine(&one);
    }
    let crc = crc.finalize();
    let name = name.as_bytes();
    let mut local = Vec::new();
    local.extend_from_slice(&0x04034b50u32.to_le_bytes());
    local.extend_from_slice(&45u16.to_le_bytes()); // version needed: zip64
    local.extend_from_slice(&0u16.to_le_bytes()); // flags
    local.extend_from_slice(&8u16.to_le_bytes()); // deflate
    local.extend_from_slice(&0u16.to_le_bytes()); // time
    local.extend_from_slice(&0x21u16.to_le_bytes()); // date: 1980-01-01
    local.extend_from_slice(&crc.to_le_bytes());
    local.extend_from_slice(&u32::MAX.to_le_bytes());
    local.extend_from_slice(&u32::MAX.to_le_bytes());
    local.extend_from_slice(&(name.len() as u16).to_le_bytes());
    local.extend_from_slice(&20u16.to_le_bytes());
    local.extend_from_slice(name);
    local.extend_from_slice(&1u16.to_le_bytes());
    local.extend_from_slice(&16u16.to_le_bytes());
    local.extend_from_slice(&declared.to_le_bytes());
    local.extend_from_slice(&compressed.to_le_bytes());
    out.write_all(&local)?;
    for _ in 0..count {
        out.write_all(&chunk)?;
    }
    out.write_all(&END)?;
    let cd_offset = local.len() as u64 + compressed;
    let mut central = Vec::new();
    central.extend_from_slice(&0x02014b50u32.to_le_bytes());
    central.extend_from_slice(&45u16.to_le_bytes());
    central.extend_from_slice(&45u16.to_le_bytes());
    central.extend_from_slice(&0u16.to_le_bytes());
    central.extend_from_slice(&8u16.to_le_bytes());
    central.extend_from_slice(&0u16.to_le_bytes());
    central.extend_from_slice(&0x21u16.to_le_bytes());
    central.extend_from_slice(&crc.to_le_bytes());
    central.extend_from_slice(&u32::MAX.to_le_bytes());
    central.extend_from_slice(&u32::MAX.to_le_bytes());
    central.extend_from_slice(&(name.len() as u16).to_le_bytes());
    central.extend_from_slice(&28u16.to_le_bytes()); // extra
    central.extend_from_slice(&0u16.to_le_bytes()); // comment
    central.extend_from_slice(&0u16.to_le_bytes()); // disk
    central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
    central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
    central.extend_from_slice(&u32::MAX.to_le_bytes()); // local header offset: in zip64
    central.extend_from_slice(name);
    central.extend_from_slice(&1u16.to_le_bytes());
    central.extend_from_slice(&24u16.to_le_bytes());
    central.extend_from_slice(&declared.to_le_bytes());
    central.extend_from_slice(&compressed.to_le_bytes());
    central.extend_from_slice(&0u64.to_le_bytes());
    let eocd64_offset = cd_offset + central.len() as u64;
    let mut end = Vec::new();
    end.extend_from_slice(&0x06064b50u32.to_le_bytes());
    end.extend_from_slice(&44u64.to_le_bytes());
    end.extend_from_slice(&45u16.to_le_bytes());
    end.extend_from_slice(&45u16.to_le_bytes());
    end.extend_from_slice(&0u32.to_le_bytes());
    end.extend_from_slice(&0u32.to_le_bytes());
    end.extend_from_slice(&1u64.to_le_bytes());
    end.extend_from_slice(&1u64.to_le_bytes());
    end.extend_from_slice(&(central.len() as u64).to_le_bytes());
    end.extend_from_slice(&cd_offset.to_le_bytes());
    end.extend_from_slice(&0x07064b50u32.to_le_bytes());
    end.extend_from_slice(&0u32.to_le_bytes());
    end.extend_from_slice(&eocd64_offset.to_le_bytes());
    end.extend_from_slice(&1u32.to_le_bytes());
    end.extend_from_slice(&0x06054b50u32.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    end.extend_from_slice(&u16::MAX.to_le_bytes());
    end.extend_from_slice(&u16::MAX.to_le_bytes());
    end.extend_from_slice(&u32::MAX.to_le_bytes());
    end.extend_from_slice(&u32::MAX.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    out.write_all(&central)?;
    out.write_all(&end)?;
    Ok(())
}

/// A zip of `members` (name, bytes), deflated.
pub fn zip_of(members: &[(&str, &[u8])]) -> io::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    for (name, bytes) in members {
        zip.start_file(*name, options).map_err(io::Error::other)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish().map_err(io::Error::other)?.into_inner())
}

/// 42.zip's shape: `width` copies of the zip one level down, `levels` times, around
/// [`zeros_zip`] of `leaf_mib` MiB.
pub fn nested_bomb(width: usize, levels: usize, leaf_mib: u64) -> io::Result<Vec<u8>> {
    let mut current = Vec::new();
    zeros_zip(&mut current, "0.txt", leaf_mib, leaf_mib * MIB)?;
    for level in 0..levels {
        let names: Vec<String> = (0..width).map(|i| format!("{level}-{i}.zip")).collect();
        let members: Vec<(&str, &[u8])> = names
            .iter()
            .map(|n| (n.as_str(), current.as_slice()))
            .collect();
        current = zip_of(&members)?;
    }
    Ok(current)
}

/// A zip `depth` zips deep around one text member.
pub fn deep_zip(depth: usize, text: &[u8]) -> io::Result<Vec<u8>> {
    let mut current = zip_of(&[("deepest.txt", text)])?;
    for level in (1..depth).rev() {
        current = zip_of(&[(&format!("level-{level}.zip"), &current)])?;
    }
    Ok(current)
}

/// A minimal XLSX of one sheet named `Ledger` whose `<sheetData>` is `rows`.
pub fn xlsx_of(rows: &str) -> io::Result<Vec<u8>> {
    let types = r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
    let rels = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    let core = r#"<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"><dc:title>Harbour &amp; docks</dc:title><dc:creator>Alice Example</dc:creator><dcterms:created>2010-04-12T10:00:00Z</dcterms:created></cp:coreProperties>"#;
    let workbook = r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Ledger" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    let wb_rels = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;
    let sheet = format!(
        r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>"#
    );
    zip_of(&[
        ("[Content_Types].xml", types.as_bytes()),
        ("_rels/.rels", rels.as_bytes()),
        ("docProps/core.xml", core.as_bytes()),
        ("xl/workbook.xml", workbook.as_bytes()),
        ("xl/_rels/workbook.xml.rels", wb_rels.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
    ])
}

/// Base64 with line breaks, for a MIME part.
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in bytes.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * k)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A PDF with no text layer, as a scanner makes it: one page per JPEG of `pages`, the image
/// its whole content (`DCTDecode`, the JPEG's bytes as they are), at `dpi`. Errors when a JPEG
/// has no frame header to take its size from.
pub fn scanned_pdf(pages: &[Vec<u8>], dpi: u32) -> io::Result<Vec<u8>> {
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            (0..pages.len())
                .map(|i| format!("{} 0 R", 3 + 3 * i))
                .collect::<Vec<_>>()
                .join(" "),
            pages.len()
        )
        .into_bytes(),
    ];
    for (i, jpeg) in pages.iter().enumerate() {
        let (width, height, components) = jpeg_frame(jpeg).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "a JPEG without a frame header")
        })?;
        let (w, h) = (width * 72 / dpi, height * 72 / dpi);
        let (image, content) = (4 + 3 * i, 5 + 3 * i);
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] /Resources << /XObject << /Im0 {image} 0 R >> >> /Contents {content} 0 R >>"
            )
            .into_bytes(),
        );
        let space = if components == 1 {
            "DeviceGray"
        } else {
            "DeviceRGB"
        };
        let mut stream = format!(
            "<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /{space} /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>\nstream\n",
            jpeg.len()
        )
        .into_bytes();
        stream.extend_from_slice(jpeg);
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
        let draw = format!("q {w} 0 0 {h} 0 0 cm /Im0 Do Q");
        objects
            .push(format!("<< /Length {} >>\nstream\n{draw}\nendstream", draw.len()).into_bytes());
    }
    let mut pdf = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (n, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", n + 1).as_bytes());
        pdf.extend_from_slice(body);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    Ok(pdf)
}

/// A JPEG's width, height and number of components, from its first frame header (SOF0–SOF15
/// but DHT, JPG and DAC).
fn jpeg_frame(jpeg: &[u8]) -> Option<(u32, u32, u8)> {
    let mut at = 2;
    while at + 9 < jpeg.len() {
        if jpeg[at] != 0xFF {
            return None;
        }
        let marker = jpeg[at + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let height = u16::from_be_bytes([jpeg[at + 5], jpeg[at + 6]]);
            let width = u16::from_be_bytes([jpeg[at + 7], jpeg[at + 8]]);
            return Some((u32::from(width), u32::from(height), jpeg[at + 9]));
        }
        at += 2 + len;
    }
    None
}

/// A PNG whose header declares `side` × `side` 8-bit gray pixels (`side²` bytes once decoded)
/// and whose data holds a few white rows: the decompression bomb an image decoder meets first.
pub fn png_bomb(side: u32) -> io::Result<Vec<u8>> {
    use flate2::{Compression, Crc, write::ZlibEncoder};
    fn chunk(png: &mut Vec<u8>, kind: &[u8], data: &[u8]) -> io::Result<()> {
        let len = u32::try_from(data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a chunk over 4 GiB"))?;
        png.extend_from_slice(&len.to_be_bytes());
        let mut crc = Crc::new();
        crc.update(kind);
        crc.update(data);
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        png.extend_from_slice(&crc.sum().to_be_bytes());
        Ok(())
    }
    let mut header = side.to_be_bytes().to_vec();
    header.extend_from_slice(&side.to_be_bytes());
    // 8 bits, gray, deflate, no filter method but the standard one, no interlace.
    header.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut row = vec![0xFF; side as usize + 1];
    row[0] = 0;
    let mut rows = ZlibEncoder::new(Vec::new(), Compression::best());
    for _ in 0..16 {
        rows.write_all(&row)?;
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &header)?;
    chunk(&mut png, b"IDAT", &rows.finish()?)?;
    chunk(&mut png, b"IEND", b"")?;
    Ok(png)
}
