//! Outlook `.msg` files (MS-OXMSG: MAPI properties in a compound file), turned into the RFC 5322
//! message they stand for, which the e-mail reader then reads as it reads an `.eml`: the same
//! headers, threading (Message-ID, In-Reply-To, References) and attachments as documents of
//! their own, an attached message (an embedded `.msg`) as a `message/rfc822` part.
//!
//! The compound file is read with the `cfb` crate; the mapping from properties to a message is
//! written here because no well-kept crate does it (the Rust `.msg` readers are young and
//! unmaintained), and it is small: the transport headers Outlook kept (`PR_TRANSPORT_MESSAGE_
//! HEADERS`) when the message came by SMTP, else headers made from the properties (sender,
//! recipients, subject, submit time, Internet ids); the plain body, else the HTML one; each
//! attachment's bytes and name. Every body and attachment is base64 and every made header
//! value an RFC 2047 word when it is not ASCII, so what a sender wrote never becomes a header
//! or a MIME boundary of ours; made values lose their line breaks.
//!
//! Bounded: at most [`STREAM_MAX`] bytes of any one property, [`DEPTH_MAX`] messages attached
//! in messages. An RTF-only body (compressed RTF, no plain or HTML form) is left out.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{Cursor, Read, Seek};

use base64::Engine;
use cfb::CompoundFile;
use time::OffsetDateTime;

/// The largest property read (a body, an attachment): the whole file is in memory already.
const STREAM_MAX: u64 = 512 << 20;
/// Messages attached in messages, at most.
const DEPTH_MAX: usize = 8;

const PT_LONG: u16 = 0x0003;
const PT_SYSTIME: u16 = 0x0040;

/// MAPI property ids used here (MS-OXPROPS).
mod id {
    pub const SUBJECT: u16 = 0x0037;
    pub const CLIENT_SUBMIT_TIME: u16 = 0x0039;
    pub const SENT_REPRESENTING_NAME: u16 = 0x0042;
    pub const SENT_REPRESENTING_EMAIL: u16 = 0x0065;
    pub const TRANSPORT_HEADERS: u16 = 0x007D;
    pub const SENDER_NAME: u16 = 0x0C1A;
    pub const SENDER_EMAIL: u16 = 0x0C1F;
    pub const RECIPIENT_TYPE: u16 = 0x0C15;
    pub const DISPLAY_CC: u16 = 0x0E03;
    pub const DISPLAY_TO: u16 = 0x0E04;
    pub const DELIVERY_TIME: u16 = 0x0E06;
    pub const BODY: u16 = 0x1000;
    pub const HTML: u16 = 0x1013;
    pub const MESSAGE_ID: u16 = 0x1035;
    pub const REFERENCES: u16 = 0x1039;
    pub const IN_REPLY_TO: u16 = 0x1042;
    pub const DISPLAY_NAME: u16 = 0x3001;
    pub const EMAIL_ADDRESS: u16 = 0x3003;
    pub const ATTACH_DATA: u16 = 0x3701;
    pub const ATTACH_FILENAME: u16 = 0x3704;
    pub const ATTACH_LONG_FILENAME: u16 = 0x3707;
    pub const ATTACH_MIME_TAG: u16 = 0x370E;
    pub const SMTP_ADDRESS: u16 = 0x39FE;
    pub const SENDER_SMTP_ADDRESS: u16 = 0x5D01;
}

/// Whether `content` is a compound file (also Word 97 and Excel 97 files are: the caller asks
/// only for `.msg` files, or tells them apart by what [`to_eml`] finds).
pub fn is_compound_file(content: &[u8]) -> bool {
    content.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

/// Whether `content` (a compound file) holds an Outlook message: MAPI properties at its root.
pub fn is_message(content: &[u8]) -> bool {
    is_compound_file(content)
        && CompoundFile::open(Cursor::new(content))
            .is_ok_and(|file| file.is_stream("/__properties_version1.0"))
}

/// Whether a file is a PST or OST mailbox (its first bytes are `!BDN`).
pub fn is_mailbox(head: &[u8]) -> bool {
    head.starts_with(b"!BDN")
}

/// An Outlook `.msg` file read as the e-mail it stands for ([`to_eml`]), its original the
/// `.msg` itself: one document with its attachments as children.
pub(crate) fn read_msg(
    raw: Vec<u8>,
    opts: &super::ReadOptions,
) -> Result<super::ReadOutcome, super::ReadError> {
    let eml = to_eml(&raw).map_err(super::ReadError::file)?;
    let mut outcome = super::email::read(&eml, true, opts)?;
    if let super::ReadOutcome::Documents(docs) = &mut outcome
        && let Some(Ok(message)) = docs.first_mut()
    {
        message.original = raw;
        message.ext = "msg".into();
        message.media_type = "application/vnd.ms-outlook".into();
    }
    Ok(outcome)
}

/// The messages of the PST or OST mailbox at `path` ([`pst_messages`]), each read as an e-mail
/// and placed at `!/` and its folders in the mailbox (`box.pst!/Inbox/3.eml`, as an archive's
/// members are). Bounded as archives are: the messages written out at most the bytes one file's
/// archives may expand to.
pub(crate) fn read_mailbox(
    path: &std::path::Path,
    opts: &super::ReadOptions,
    each: &mut dyn FnMut(Result<crate::model::Extracted, super::ReadError>),
) -> Result<(), super::ReadError> {
    let limits = PstLimits {
        output_bytes: opts.archives.max_total_bytes,
        ..PstLimits::default()
    };
    let mailbox = pst_messages(path, &limits).map_err(super::ReadError::file)?;
    for (i, name) in mailbox.messages.iter().enumerate() {
        let place = super::container::place_of(name);
        let read = mailbox
            .read(i)
            .map_err(|e| super::ReadError::file(format!("cannot read what readpst wrote: {e}")))
            .and_then(|eml| super::email::read(&eml, true, opts));
        match read {
            Ok(super::ReadOutcome::Documents(docs)) => {
                for doc in docs {
                    each(super::container::relocate(doc, &place));
                }
            }
            Ok(super::ReadOutcome::Unsupported(unsupported)) => {
                each(Err(super::ReadError::unsupported(place, unsupported)));
            }
            Err(e) => each(super::container::relocate(Err(e), &place)),
        }
    }
    Ok(())
}

/// The RFC 5322 message an Outlook `.msg` file stands for, or why it is not one.
pub fn to_eml(content: &[u8]) -> Result<Vec<u8>, String> {
    // Borrowed: only a file cut short is copied (to be padded).
    let opened = CompoundFile::open(Cursor::new(Cow::Borrowed(content))).or_else(|e| {
        // Files cut short by a sector or two (their FAT counts sectors past the end) are
        // common; their lost sectors are read as zeros, as olefile does, when few are lost.
        let padded = padded(content).ok_or(e)?;
        CompoundFile::open(Cursor::new(Cow::Owned(padded)))
    });
    let mut file = opened.map_err(|e| format!("not an Outlook message (no compound file): {e}"))?;
    if !file.is_stream("/__properties_version1.0") {
        return Err("a compound file, but not an Outlook message (no MAPI properties)".into());
    }
    Message::read(&mut file, "/", 0)
}

/// Bytes a file may lack at its end and still be read ([`padded`]).
const CUT_MAX: usize = 1 << 20;

/// `content` with zeros up to the length its header's FAT can describe, if it is shorter by at
/// most [`CUT_MAX`].
fn padded(content: &[u8]) -> Option<Vec<u8>> {
    let u16_at = |at: usize| {
        Some(u16::from_le_bytes(
            content.get(at..at + 2)?.try_into().ok()?,
        ))
    };
    let u32_at = |at: usize| {
        Some(u32::from_le_bytes(
            content.get(at..at + 4)?.try_into().ok()?,
        ))
    };
    let sector = 1usize
        .checked_shl(u32::from(u16_at(0x1E)?))
        .filter(|s| *s == 512 || *s == 4096)?;
    let fat_sectors = usize::try_from(u32_at(0x2C)?).ok()?;
    let described = fat_sectors
        .checked_mul(sector / 4)?
        .checked_mul(sector)?
        .checked_add(sector)?;
    (described > content.len() && described - content.len() <= CUT_MAX).then(|| {
        let mut padded = content.to_vec();
        padded.resize(described, 0);
        padded
    })
}

/// One message (or recipient, or attachment) folder of the compound file: its fixed-size
/// properties, and the way to its variable-size ones.
struct Folder<'a, F> {
    file: &'a mut CompoundFile<F>,
    /// Its path, ending in `/`.
    dir: String,
    fixed: HashMap<u16, (u16, [u8; 8])>,
}

impl<'a, F: Read + Seek> Folder<'a, F> {
    /// `dir`'s properties; `header`: the bytes before the entries of its properties stream (32
    /// for the top message, 24 for an attached one, 8 for a recipient or an attachment).
    fn open(file: &'a mut CompoundFile<F>, dir: &str, header: usize) -> Folder<'a, F> {
        let stream = read_stream(file, &format!("{dir}__properties_version1.0"));
        let fixed = stream
            .as_deref()
            .unwrap_or_default()
            .get(header..)
            .unwrap_or_default()
            .chunks_exact(16)
            .map(|entry| {
                let tag = u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
                let mut value = [0; 8];
                value.copy_from_slice(&entry[8..16]);
                ((tag >> 16) as u16, (tag as u16, value))
            })
            .collect();
        Folder {
            file,
            dir: dir.to_owned(),
            fixed,
        }
    }

    /// A string property: UTF-16 (`001F`), else 8-bit (`001E`, read as Windows-1252).
    fn string(&mut self, id: u16) -> Option<String> {
        if let Some(bytes) =
            read_stream(self.file, &format!("{}__substg1.0_{id:04X}001F", self.dir))
        {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            let text = String::from_utf16_lossy(&units);
            return Some(text.trim_end_matches('\0').to_owned()).filter(|t| !t.is_empty());
        }
        let bytes = read_stream(self.file, &format!("{}__substg1.0_{id:04X}001E", self.dir))?;
        let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
        Some(text.trim_end_matches('\0').to_owned()).filter(|t| !t.is_empty())
    }

    fn binary(&mut self, id: u16) -> Option<Vec<u8>> {
        read_stream(self.file, &format!("{}__substg1.0_{id:04X}0102", self.dir))
    }

    fn long(&self, id: u16) -> Option<u32> {
        let (kind, value) = self.fixed.get(&id)?;
        (*kind == PT_LONG).then(|| u32::from_le_bytes([value[0], value[1], value[2], value[3]]))
    }

    fn time(&self, id: u16) -> Option<OffsetDateTime> {
        let (kind, value) = self.fixed.get(&id)?;
        if *kind != PT_SYSTIME {
            return None;
        }
        // FILETIME: 100 ns since 1601-01-01.
        let ticks = i128::from(u64::from_le_bytes(*value));
        let unix_ns = (ticks - 116_444_736_000_000_000) * 100;
        OffsetDateTime::from_unix_timestamp_nanos(unix_ns).ok()
    }

    /// The folders under this one whose names start with `prefix`, as paths ending in `/`.
    fn children(&mut self, prefix: &str) -> Vec<String> {
        let mut found: Vec<String> = self
            .file
            .read_storage(&self.dir)
            .map(|entries| {
                entries
                    .filter(|e| e.is_storage() && e.name().starts_with(prefix))
                    .map(|e| format!("{}{}/", self.dir, e.name()))
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    }
}

/// The bytes of the stream at `path`, if there is one (at most [`STREAM_MAX`]).
fn read_stream<F: Read + Seek>(file: &mut CompoundFile<F>, path: &str) -> Option<Vec<u8>> {
    let stream = file.open_stream(path).ok()?;
    let mut bytes = Vec::new();
    stream.take(STREAM_MAX).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// A message being written: its header lines and its MIME parts.
struct Message {
    head: String,
    parts: Vec<Vec<u8>>,
}

impl Message {
    /// The message in folder `dir`, `depth` messages deep, as RFC 5322 bytes.
    fn read<F: Read + Seek>(
        file: &mut CompoundFile<F>,
        dir: &str,
        depth: usize,
    ) -> Result<Vec<u8>, String> {
        let header = if depth == 0 { 32 } else { 24 };
        let mut folder = Folder::open(file, dir, header);
        let mut message = Message {
            head: String::new(),
            parts: Vec::new(),
        };
        match folder.string(id::TRANSPORT_HEADERS) {
            Some(kept) => {
                // The subject as Outlook decoded it: the kept line may be raw 8-bit text in a
                // charset it does not name.
                let subject = folder.string(id::SUBJECT);
                message.head = headers_but_mime(&kept, subject.is_some());
                if let Some(subject) = subject {
                    message.header("Subject", &encoded(&subject));
                }
            }
            None => message.make_headers(&mut folder),
        }
        message.body(&mut folder);
        for attachment in folder.children("__attach_version1.0_#") {
            message.attach(folder.file, &attachment, depth)?;
        }
        Ok(message.into_bytes())
    }

    /// Headers made from the properties, when Outlook kept none (a message written, not
    /// received, or saved by a client that drops them).
    fn make_headers<F: Read + Seek>(&mut self, folder: &mut Folder<'_, F>) {
        let name = folder
            .string(id::SENDER_NAME)
            .or_else(|| folder.string(id::SENT_REPRESENTING_NAME));
        let address = [
            id::SENDER_SMTP_ADDRESS,
            id::SENDER_EMAIL,
            id::SENT_REPRESENTING_EMAIL,
        ]
        .into_iter()
        .find_map(|id| folder.string(id).filter(|a| a.contains('@')));
        if name.is_some() || address.is_some() {
            self.header("From", &mailbox(name.as_deref(), address.as_deref()));
        }
        let mut to = Vec::new();
        let mut cc = Vec::new();
        for recipient in folder.children("__recip_version1.0_#") {
            let mut r = Folder::open(folder.file, &recipient, 8);
            let address = [id::SMTP_ADDRESS, id::EMAIL_ADDRESS]
                .into_iter()
                .find_map(|id| r.string(id).filter(|a| a.contains('@')));
            let name = r.string(id::DISPLAY_NAME);
            let written = mailbox(name.as_deref(), address.as_deref());
            match r.long(id::RECIPIENT_TYPE) {
                Some(2) => cc.push(written),
                // Bcc (3) stays out of the message, as it does of a sent one.
                Some(3) => {}
                _ => to.push(written),
            }
        }
        if to.is_empty()
            && let Some(names) = folder.string(id::DISPLAY_TO)
        {
            to.push(encoded(&names));
        }
        if cc.is_empty()
            && let Some(names) = folder.string(id::DISPLAY_CC)
        {
            cc.push(encoded(&names));
        }
        for (field, list) in [("To", to), ("Cc", cc)] {
            if !list.is_empty() {
                self.header(field, &list.join(", "));
            }
        }
        if let Some(subject) = folder.string(id::SUBJECT) {
            self.header("Subject", &encoded(&subject));
        }
        let date = folder
            .time(id::CLIENT_SUBMIT_TIME)
            .or_else(|| folder.time(id::DELIVERY_TIME));
        if let Some(date) = date.and_then(|d| {
            d.format(&time::format_description::well_known::Rfc2822)
                .ok()
        }) {
            self.header("Date", &date);
        }
        for (field, id) in [
            ("Message-ID", id::MESSAGE_ID),
            ("In-Reply-To", id::IN_REPLY_TO),
            ("References", id::REFERENCES),
        ] {
            if let Some(value) = folder.string(id).filter(|v| v.is_ascii()) {
                self.header(field, &one_line(&value));
            }
        }
    }

    fn header(&mut self, field: &str, value: &str) {
        self.head.push_str(field);
        self.head.push_str(": ");
        self.head.push_str(&one_line(value));
        self.head.push_str("\r\n");
    }

    /// The plain body, else the HTML one.
    fn body<F: Read + Seek>(&mut self, folder: &mut Folder<'_, F>) {
        if let Some(text) = folder.string(id::BODY) {
            self.parts.push(base64_part(
                "text/plain; charset=utf-8",
                None,
                text.as_bytes(),
            ));
        } else if let Some(html) = folder
            .binary(id::HTML)
            .or_else(|| folder.string(id::HTML).map(String::into_bytes))
        {
            let html = String::from_utf8_lossy(&html).into_owned();
            self.parts.push(base64_part(
                "text/html; charset=utf-8",
                None,
                html.as_bytes(),
            ));
        }
    }

    /// The attachment in folder `dir`: its bytes as a part, or the message it holds.
    fn attach<F: Read + Seek>(
        &mut self,
        file: &mut CompoundFile<F>,
        dir: &str,
        depth: usize,
    ) -> Result<(), String> {
        let embedded = format!("{dir}__substg1.0_{:04X}000D/", id::ATTACH_DATA);
        if file.is_storage(&embedded) {
            if depth + 1 >= DEPTH_MAX {
                return Err(format!(
                    "messages attached in messages more than {DEPTH_MAX} deep"
                ));
            }
            let inner = Message::read(file, &embedded, depth + 1)?;
            let mut part =
                b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n".to_vec();
            part.extend_from_slice(&inner);
            self.parts.push(part);
            return Ok(());
        }
        let mut folder = Folder::open(file, dir, 8);
        let Some(data) = folder.binary(id::ATTACH_DATA) else {
            // A link to a file elsewhere, or an OLE object: nothing of it in the message.
            return Ok(());
        };
        let name = [
            id::ATTACH_LONG_FILENAME,
            id::ATTACH_FILENAME,
            id::DISPLAY_NAME,
        ]
        .into_iter()
        .find_map(|id| folder.string(id));
        let kind = folder
            .string(id::ATTACH_MIME_TAG)
            .filter(|t| is_media_type(t))
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        self.parts.push(base64_part(&kind, name.as_deref(), &data));
        Ok(())
    }

    fn into_bytes(self) -> Vec<u8> {
        let mut boundary = String::from("=_samizdat_msg");
        while self.parts.iter().any(|p| contains(p, boundary.as_bytes())) {
            boundary.push('_');
        }
        let mut out = self.head.into_bytes();
        out.extend_from_slice(
            format!(
                "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
            )
            .as_bytes(),
        );
        for part in &self.parts {
            out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            out.extend_from_slice(part);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        out
    }
}

/// The header block Outlook kept, without the MIME fields (the message is written again, as
/// multipart) and without its subject if `subject` is written apart: lines ending in CRLF, the
/// block ending before its first empty line.
fn headers_but_mime(kept: &str, but_subject: bool) -> String {
    let mut out = String::new();
    let mut dropping = false;
    for line in kept.lines() {
        if line.trim().is_empty() {
            break;
        }
        let continued = line.starts_with([' ', '\t']);
        if !continued {
            let field = line
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            dropping = field.starts_with("content-")
                || field == "mime-version"
                || (but_subject && field == "subject");
        }
        if !dropping {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out
}

/// `Name <address>`, each part as RFC 5322 allows it.
fn mailbox(name: Option<&str>, address: Option<&str>) -> String {
    let address = address.map(|a| one_line(a).replace(['<', '>', ',', ' '], ""));
    match (name.map(one_line).filter(|n| !n.is_empty()), address) {
        (Some(name), Some(address)) => format!("{} <{address}>", phrase(&name)),
        (None, Some(address)) => format!("<{address}>"),
        (Some(name), None) => phrase(&name),
        (None, None) => String::new(),
    }
}

/// A display name: a quoted string when ASCII, else an encoded word.
fn phrase(name: &str) -> String {
    if name.is_ascii() {
        format!("\"{}\"", name.replace(['"', '\\'], ""))
    } else {
        encoded(name)
    }
}

/// `text` as one RFC 2047 word when it is not ASCII (UTF-8, base64).
fn encoded(text: &str) -> String {
    let text = one_line(text);
    if text.is_ascii() {
        return text;
    }
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
    )
}

/// `text` with its line breaks and other control characters made spaces: a value can never
/// start another header.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A MIME part: `content_type`, the file name if any (RFC 2231 when not plain ASCII), the
/// bytes in base64 lines of 76.
fn base64_part(content_type: &str, name: Option<&str>, bytes: &[u8]) -> Vec<u8> {
    let mut head = format!("Content-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n");
    if let Some(name) = name.map(one_line).filter(|n| !n.is_empty()) {
        let plain = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" ._-()+".contains(&b));
        if plain {
            head.push_str(&format!(
                "Content-Disposition: attachment; filename=\"{name}\"\r\n"
            ));
        } else {
            let escaped: String = name
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            head.push_str(&format!(
                "Content-Disposition: attachment; filename*=UTF-8''{escaped}\r\n"
            ));
        }
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    for line in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// `type/subtype` of token characters: what may go into a Content-Type as it is.
fn is_media_type(value: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    value
        .split_once('/')
        .is_some_and(|(kind, sub)| token(kind) && token(sub))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// How `readpst` is run on a mailbox.
#[derive(Debug, Clone)]
pub struct PstLimits {
    /// Killed after this long.
    pub timeout: std::time::Duration,
    /// Its address space, at most (`prlimit --as`).
    pub memory_bytes: u64,
    /// What it may write, at most: stopped past this.
    pub output_bytes: u64,
}

impl Default for PstLimits {
    fn default() -> Self {
        PstLimits {
            timeout: std::time::Duration::from_secs(600),
            memory_bytes: 1 << 30,
            output_bytes: 8 << 30,
        }
    }
}

/// The messages of a PST or OST mailbox, written out by Debian's `readpst` (libpst, package
/// `pst-utils`: no Rust crate reads PST files well) in a child process within `limits`, one
/// RFC 5322 file per message, read one at a time through [`Mailbox::read`].
pub fn pst_messages(path: &std::path::Path, limits: &PstLimits) -> Result<Mailbox, String> {
    use std::process::{Command, Stdio};
    let dir = tempfile::Builder::new()
        .prefix("samizdat-pst-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let out = dir.path().join("out");
    std::fs::create_dir(&out).map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let stderr_path = dir.path().join("stderr");
    let stderr = std::fs::File::create(&stderr_path)
        .map_err(|e| format!("cannot make a temporary file: {e}"))?;
    // -e: a file per message, with its attachments; -D: deleted items too; -b: no RTF copies
    // of bodies; -8: UTF-8; -q: quiet; -j 0: no forked jobs sharing memory segments (they
    // failed now and then under load, exit status 11; files are read in parallel already).
    let mut child = Command::new("prlimit")
        .arg(format!("--as={}", limits.memory_bytes))
        .args([
            "--", "readpst", "-e", "-D", "-b", "-8", "-q", "-j", "0", "-o",
        ])
        .arg(&out)
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| {
            format!("cannot start readpst (Debian package pst-utils) through prlimit: {e}")
        })?;
    let checked = std::cell::Cell::new(std::time::Instant::now());
    let too_much = || {
        if checked.get().elapsed() < std::time::Duration::from_millis(500) {
            return None;
        }
        checked.set(std::time::Instant::now());
        (folder_bytes(&out) > limits.output_bytes).then(|| {
            format!(
                "the mailbox's messages are larger than {} MiB",
                limits.output_bytes >> 20
            )
        })
    };
    let status = super::child::wait_within(&mut child, limits.timeout, "readpst", too_much)?;
    if let Some(reason) = (folder_bytes(&out) > limits.output_bytes).then(|| {
        format!(
            "the mailbox's messages are larger than {} MiB",
            limits.output_bytes >> 20
        )
    }) {
        return Err(reason);
    }
    if !status.success() {
        let said = std::fs::read(&stderr_path).unwrap_or_default();
        let said = String::from_utf8_lossy(&said[said.len().saturating_sub(400)..]);
        return Err(format!(
            "readpst could not read it ({status}): {}",
            one_line(&said)
        ));
    }
    let mut messages: Vec<String> = walkdir::WalkDir::new(&out)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let relative = e.path().strip_prefix(&out).ok()?;
            Some(relative.to_string_lossy().into_owned())
        })
        .collect();
    messages.sort();
    Ok(Mailbox {
        _dir: dir,
        out,
        messages,
    })
}

/// A mailbox's messages written out by `readpst`, removed when dropped.
pub struct Mailbox {
    /// Removed when dropped.
    _dir: tempfile::TempDir,
    out: std::path::PathBuf,
    /// Each message's path in the mailbox: its folders, then `N.eml` (sorted).
    pub messages: Vec<String>,
}

impl Mailbox {
    /// The bytes of message `i`.
    pub fn read(&self, i: usize) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.out.join(&self.messages[i]))
    }
}

/// The bytes of the files under `dir`.
fn folder_bytes(dir: &std::path::Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MimeHeaders;

    #[test]
    fn made_headers_never_carry_a_line_break_or_raw_non_ascii() {
        assert_eq!(one_line("a\r\nBcc: x@y"), "a  Bcc: x@y");
        assert_eq!(
            mailbox(Some("Zoë \"Z\""), Some("z@x.org>\r\nX: 1")),
            "=?UTF-8?B?Wm/DqyAiWiI=?= <z@x.orgX:1>"
        );
        assert_eq!(mailbox(Some("Ann"), None), "\"Ann\"");
        assert_eq!(encoded("Réunion\n"), "=?UTF-8?B?UsOpdW5pb24=?=");
    }

    #[test]
    fn kept_transport_headers_lose_their_mime_fields_and_stop_at_the_body() {
        let kept = "Received: by x\r\n\tfor y\r\nContent-Type: multipart/alternative;\r\n\tboundary=\"b\"\r\nSubject: Hi\r\nMIME-Version: 1.0\r\n\r\nbody\r\n";
        assert_eq!(
            headers_but_mime(kept, false),
            "Received: by x\r\n\tfor y\r\nSubject: Hi\r\n"
        );
        assert_eq!(
            headers_but_mime(kept, true),
            "Received: by x\r\n\tfor y\r\n"
        );
    }

    #[test]
    fn attachment_names_are_quoted_or_encoded_and_types_checked() {
        let part = base64_part("application/pdf", Some("Bericht ü.pdf"), b"x");
        let text = String::from_utf8(part).expect("ascii");
        assert!(
            text.contains("filename*=UTF-8''Bericht%20%C3%BC.pdf"),
            "{text}"
        );
        assert!(is_media_type("application/vnd.ms-excel"));
        assert!(!is_media_type("text/html\r\nX: y"));
        assert!(!is_media_type("text"));
    }

    #[test]
    fn a_compound_file_without_mapi_properties_is_not_a_message() {
        let mut file = CompoundFile::create(Cursor::new(Vec::new())).expect("create");
        file.create_stream("/WordDocument").expect("stream");
        let bytes = file.into_inner().into_inner();
        assert!(is_compound_file(&bytes));
        let why = to_eml(&bytes).expect_err("not a message");
        assert!(why.contains("not an Outlook message"), "{why}");
        assert!(to_eml(b"plain text").is_err());
    }

    type Made = CompoundFile<Cursor<Vec<u8>>>;

    fn put(file: &mut Made, path: &str, bytes: &[u8]) {
        let mut stream = file.create_stream(path).expect("stream");
        std::io::Write::write_all(&mut stream, bytes).expect("write");
    }

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    /// A properties stream: `header` zero bytes, then one entry per (id, type, value).
    fn properties(header: usize, entries: &[(u16, u16, u64)]) -> Vec<u8> {
        let mut out = vec![0u8; header];
        for (id, kind, value) in entries {
            out.extend_from_slice(&((u32::from(*id) << 16) | u32::from(*kind)).to_le_bytes());
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&value.to_le_bytes());
        }
        out
    }

    /// A message written with the `cfb` crate as Outlook lays it out: no transport headers,
    /// properties only, one recipient, one attachment, one attached message.
    #[test]
    fn a_message_made_of_properties_reads_as_the_email_it_stands_for() {
        let mut file = CompoundFile::create(Cursor::new(Vec::new())).expect("create");
        // Submit time 2010-04-12 10:00:00 UTC as FILETIME.
        let filetime: u64 = (1_271_066_400 + 11_644_473_600) * 10_000_000;
        let props = properties(32, &[(id::CLIENT_SUBMIT_TIME, PT_SYSTIME, filetime)]);
        put(&mut file, "/__properties_version1.0", &props);
        put(
            &mut file,
            "/__substg1.0_0037001F",
            &utf16("Réunion du port"),
        );
        put(&mut file, "/__substg1.0_0C1A001F", &utf16("Ann Harbour"));
        put(
            &mut file,
            "/__substg1.0_5D01001F",
            &utf16("ann@port.example"),
        );
        let body = utf16("Le navire arrive lundi.\r\n");
        put(&mut file, "/__substg1.0_1000001F", &body);
        put(
            &mut file,
            "/__substg1.0_1035001F",
            &utf16("<m1@port.example>"),
        );
        let recip = "/__recip_version1.0_#00000000";
        file.create_storage(recip).expect("storage");
        let props = properties(8, &[(id::RECIPIENT_TYPE, PT_LONG, 1)]);
        put(
            &mut file,
            &format!("{recip}/__properties_version1.0"),
            &props,
        );
        let address = utf16("bob@port.example");
        put(
            &mut file,
            &format!("{recip}/__substg1.0_39FE001F"),
            &address,
        );
        let attach = "/__attach_version1.0_#00000000";
        file.create_storage(attach).expect("storage");
        put(
            &mut file,
            &format!("{attach}/__properties_version1.0"),
            &[0; 8],
        );
        let name = utf16("manifest.txt");
        put(&mut file, &format!("{attach}/__substg1.0_3707001F"), &name);
        put(
            &mut file,
            &format!("{attach}/__substg1.0_37010102"),
            b"crates: 12\n",
        );
        let attach = "/__attach_version1.0_#00000001";
        file.create_storage(attach).expect("storage");
        put(
            &mut file,
            &format!("{attach}/__properties_version1.0"),
            &[0; 8],
        );
        let inner = format!("{attach}/__substg1.0_3701000D");
        file.create_storage(&inner).expect("storage");
        put(
            &mut file,
            &format!("{inner}/__properties_version1.0"),
            &[0; 24],
        );
        let kept = utf16(
            "From: Customs <c@port.example>\r\nSubject: Cleared\r\nContent-Type: text/plain\r\n\r\n",
        );
        put(&mut file, &format!("{inner}/__substg1.0_007D001F"), &kept);
        put(
            &mut file,
            &format!("{inner}/__substg1.0_1000001F"),
            &utf16("Cleared."),
        );
        let bytes = file.into_inner().into_inner();

        let eml = to_eml(&bytes).expect("a message");
        let message = mail_parser::MessageParser::default()
            .parse(&eml)
            .expect("parses");
        assert_eq!(message.subject(), Some("Réunion du port"));
        let from = message.from().and_then(|a| a.first()).expect("from");
        assert_eq!(from.address(), Some("ann@port.example"));
        assert_eq!(from.name(), Some("Ann Harbour"));
        let to = message.to().and_then(|a| a.first()).expect("to");
        assert_eq!(to.address(), Some("bob@port.example"));
        assert_eq!(message.message_id(), Some("m1@port.example"));
        assert_eq!(
            message.date().map(|d| d.to_timestamp()),
            Some(1_271_066_400)
        );
        assert_eq!(
            message.body_text(0).as_deref(),
            Some("Le navire arrive lundi.\r\n")
        );
        let names: Vec<_> = message
            .attachments()
            .map(|a| a.attachment_name().map(str::to_owned))
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert_eq!(names[0].as_deref(), Some("manifest.txt"));
        let attached = message
            .attachments()
            .nth(1)
            .and_then(|a| a.message())
            .expect("an attached message");
        assert_eq!(attached.subject(), Some("Cleared"));
        assert_eq!(attached.body_text(0).as_deref(), Some("Cleared."));
    }

    /// Real messages: the three `.msg` files the PyPI sdist of `msg-parser` 1.2.0 ships
    /// (fetched by ./test.sh into the corpora folder): one received with ten attachments, one
    /// bounce in GB2312 whose file is cut short by two sectors, one with a message attached.
    #[test]
    fn real_outlook_messages_read_as_their_emails() {
        let base = std::env::var("SAMIZDAT_CORPORA").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../.cache/corpora").to_owned()
        });
        let dir = std::path::Path::new(&base).join("outlook/msg");
        let read = |name: &str| {
            let path = dir.join(name);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (./test.sh fetches the Outlook samples)",
                    path.display()
                )
            });
            to_eml(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        let parse = |eml: &[u8]| -> mail_parser::Message<'static> {
            mail_parser::MessageParser::default()
                .parse(eml)
                .expect("parses")
                .into_owned()
        };
        let complete = parse(&read("complete.msg"));
        assert_eq!(
            complete.subject(),
            Some("Test Multiple attachments complete email!!")
        );
        let from = complete.from().and_then(|a| a.first()).expect("from");
        assert_eq!(from.address(), Some("admin@fegraph.onmicrosoft.com"));
        assert_eq!(complete.attachment_count(), 10);
        assert!(
            complete
                .message_id()
                .is_some_and(|id| id.ends_with(".outlook.com"))
        );

        let bounce = parse(&read("other.msg"));
        let subject = bounce.subject().expect("subject");
        assert!(subject.contains("(Failure Notice)"), "{subject}");
        assert!(
            !subject.contains('\u{FFFD}'),
            "decoded by Outlook: {subject}"
        );
        assert_eq!(bounce.attachment_count(), 1);

        let outer = parse(&read("outer.msg"));
        assert_eq!(outer.subject(), Some("outer subject"));
        let inner = outer
            .attachments()
            .next()
            .and_then(|a| a.message())
            .expect("the attached message");
        assert_eq!(inner.subject(), Some("test"));
        assert_eq!(inner.body_text(0).as_deref().map(str::trim), Some("body"));
    }

    /// A real mailbox: the Enron PST the npm package `pst-extractor` 1.12.0 ships (fetched by
    /// ./test.sh), and an OST of the same package.
    #[test]
    fn a_real_pst_mailbox_gives_every_message_with_its_folder() {
        let base = std::env::var("SAMIZDAT_CORPORA").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../.cache/corpora").to_owned()
        });
        let dir = std::path::Path::new(&base).join("outlook/pst");
        let enron = dir.join("enron.pst");
        assert!(enron.exists(), "{}: run ./test.sh", enron.display());
        let mailbox = pst_messages(&enron, &PstLimits::default()).expect("read");
        assert_eq!(mailbox.messages.len(), 71, "{:?}", mailbox.messages);
        let sent = mailbox
            .messages
            .iter()
            .position(|m| m.contains("Sent Items/"))
            .expect("a sent message");
        let eml = mailbox.read(sent).expect("its bytes");
        let message = mail_parser::MessageParser::default()
            .parse(&eml)
            .expect("parses");
        assert!(message.subject().is_some() && message.message_id().is_some());

        let ost = pst_messages(
            &dir.join("pstextractortest@outlook.com.ost"),
            &PstLimits::default(),
        )
        .expect("read");
        assert!(ost.messages.len() > 100, "{}", ost.messages.len());
    }

    #[test]
    fn a_mailbox_that_is_not_one_or_takes_too_long_is_refused_with_the_reason() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let bad = tmp.path().join("bad.pst");
        std::fs::write(&bad, b"!BDN not really a mailbox").expect("write");
        let why = pst_messages(&bad, &PstLimits::default())
            .err()
            .expect("refused");
        assert!(why.contains("readpst could not read it"), "{why}");
        let base = std::env::var("SAMIZDAT_CORPORA").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../.cache/corpora").to_owned()
        });
        let enron = std::path::Path::new(&base).join("outlook/pst/enron.pst");
        let small = PstLimits {
            output_bytes: 1000,
            ..PstLimits::default()
        };
        let why = pst_messages(&enron, &small).err().expect("cut");
        assert!(why.contains("larger than 0 MiB"), "{why}");
        let hurried = PstLimits {
            timeout: std::time::Duration::ZERO,
            ..PstLimits::default()
        };
        let why = pst_messages(&enron, &hurried).err().expect("cut");
        assert!(why.contains("timed out"), "{why}");
    }

    /// Mailboxes are read in parallel (one per file `add` reads at once): readpst's own
    /// parallel jobs then failed now and then (exit status 11: 2 runs in 24 of the OST at once).
    #[test]
    fn mailboxes_read_at_once_all_succeed() {
        let base = std::env::var("SAMIZDAT_CORPORA").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../.cache/corpora").to_owned()
        });
        let ost = std::path::Path::new(&base).join("outlook/pst/pstextractortest@outlook.com.ost");
        assert!(ost.exists(), "{}: run ./test.sh", ost.display());
        let results: Vec<Result<usize, String>> = std::thread::scope(|scope| {
            let runs: Vec<_> = (0..32)
                .map(|_| {
                    scope.spawn(|| {
                        pst_messages(&ost, &PstLimits::default()).map(|m| m.messages.len())
                    })
                })
                .collect();
            runs.into_iter()
                .map(|r| r.join().unwrap_or_else(|_| Err("panicked".into())))
                .collect()
        });
        let counts: Vec<usize> = results
            .iter()
            .map(|r| r.clone().unwrap_or_else(|e| panic!("{e}")))
            .collect();
        assert!(
            counts.iter().all(|c| *c == counts[0] && *c > 100),
            "{counts:?}"
        );
    }
}
