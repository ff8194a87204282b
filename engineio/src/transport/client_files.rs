//! The browser client served under the Socket.IO path (socket.io's `serveClient`):
//! `socket.io.js`, its minified, msgpack and ESM builds and their source maps, as socket.io
//! serves them — `ETag` with the client's version, `304` on a matching `If-None-Match`, and
//! the body in the encoding `Accept-Encoding` prefers among br, gzip and deflate.
//!
//! socket.io compresses the file on every request; here every file is compressed once, on a
//! thread of its own, when the files are first loaded, and files loaded from the same folder
//! are shared by every server of the process. That thread runs only on a CPU nobody else
//! wants (`SCHED_IDLE` on Linux): a server started under load, or a test suite that connects
//! clients right after creating its server, does not share its cores with it. A request that
//! comes before its form is ready compresses that form itself rather than wait for the
//! thread. Brotli runs at quality 6, not Node's default 11: measured on socket.io-client
//! 4.8.1's eight files, 11 % larger output for 60 ms of CPU instead of 3 s — paid by every
//! process that serves the client, at startup.

use bytes::Bytes;
use flate2::write::{GzEncoder, ZlibEncoder};
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The files socket.io serves, as socket.io-client's `dist` folder names them.
pub const CLIENT_FILES: [&str; 8] = [
    "socket.io.js",
    "socket.io.js.map",
    "socket.io.min.js",
    "socket.io.min.js.map",
    "socket.io.msgpack.min.js",
    "socket.io.msgpack.min.js.map",
    "socket.io.esm.min.js",
    "socket.io.esm.min.js.map",
];

/// A content coding of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Br,
    Gzip,
    Deflate,
    Identity,
}

impl Encoding {
    /// In socket.io's order of preference (`accepts(req).encodings(["br", "gzip", "deflate"])`).
    const OFFERED: [(Encoding, &'static str); 3] = [
        (Encoding::Br, "br"),
        (Encoding::Gzip, "gzip"),
        (Encoding::Deflate, "deflate"),
    ];

    pub(crate) fn header_value(self) -> Option<&'static str> {
        Encoding::OFFERED
            .iter()
            .find(|(e, _)| *e == self)
            .map(|(_, name)| *name)
    }
}

/// The encoding the `negotiator` package picks for `Accept-Encoding` among br, gzip and
/// deflate: highest q first, then an exact name over `*`, then the one the header lists
/// first, then br, gzip, deflate. Identity when none is acceptable.
pub(crate) fn negotiate(accept_encoding: Option<&str>) -> Encoding {
    // (name, q, position in the header)
    let accepted: Vec<(&str, f64, usize)> = accept_encoding
        .unwrap_or("")
        .split(',')
        .enumerate()
        .filter_map(|(i, item)| {
            let mut parts = item.split(';');
            let name = parts.next()?.trim();
            if name.is_empty() {
                return None;
            }
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .next()
                .map_or(1.0, |q| q.trim().parse::<f64>().unwrap_or(0.0));
            Some((name, q, i))
        })
        .collect();
    let mut best: Option<(f64, u8, usize, usize, Encoding)> = None;
    for (index, (encoding, name)) in Encoding::OFFERED.iter().enumerate() {
        // The most specific matching entry, as negotiator's getEncodingPriority.
        let mut priority: Option<(u8, f64, usize)> = None;
        for &(accepted_name, q, order) in &accepted {
            let specificity = if accepted_name.eq_ignore_ascii_case(name) {
                1
            } else if accepted_name == "*" {
                0
            } else {
                continue;
            };
            let better = match priority {
                None => true,
                Some((s, pq, po)) => {
                    (specificity, q) > (s, pq) || { (specificity, q) == (s, pq) && order > po }
                }
            };
            if better {
                priority = Some((specificity, q, order));
            }
        }
        let Some((s, q, order)) = priority else {
            continue;
        };
        if q <= 0.0 {
            continue;
        }
        let candidate = (q, s, order, index, *encoding);
        let wins = match best {
            None => true,
            Some((bq, bs, bo, bi, _)) => {
                q > bq
                    || (q == bq && s > bs)
                    || (q == bq && s == bs && order < bo)
                    || (q == bq && s == bs && order == bo && index < bi)
            }
        };
        if wins {
            best = Some(candidate);
        }
    }
    best.map_or(Encoding::Identity, |b| b.4)
}

/// One file, and its compressed forms once made.
struct File {
    identity: Bytes,
    br: OnceLock<Bytes>,
    gzip: OnceLock<Bytes>,
    deflate: OnceLock<Bytes>,
}

impl File {
    fn new(identity: Bytes) -> File {
        File {
            identity,
            br: OnceLock::new(),
            gzip: OnceLock::new(),
            deflate: OnceLock::new(),
        }
    }

    /// The body in `encoding`, compressed now unless done already.
    fn body(&self, encoding: Encoding) -> Bytes {
        let bytes = &self.identity;
        match encoding {
            Encoding::Identity => bytes.clone(),
            Encoding::Br => self.br.get_or_init(|| brotli(bytes)).clone(),
            Encoding::Gzip => self
                .gzip
                .get_or_init(|| zlib_stream(GzEncoder::new(Vec::new(), level()), bytes))
                .clone(),
            Encoding::Deflate => self
                .deflate
                .get_or_init(|| zlib_stream(ZlibEncoder::new(Vec::new(), level()), bytes))
                .clone(),
        }
    }

    /// Makes every compressed form not made yet, for the background thread. It compresses
    /// outside the `OnceLock`s, so a request never waits on this low-priority thread: one
    /// that needs a form first makes it itself, and whichever finishes second is dropped.
    fn precompress(&self) {
        let bytes = &self.identity;
        if self.br.get().is_none() {
            let _ = self.br.set(brotli(bytes));
        }
        if self.gzip.get().is_none() {
            let _ = self
                .gzip
                .set(zlib_stream(GzEncoder::new(Vec::new(), level()), bytes));
        }
        if self.deflate.get().is_none() {
            let _ = self
                .deflate
                .set(zlib_stream(ZlibEncoder::new(Vec::new(), level()), bytes));
        }
    }
}

/// Lowers the calling thread to `SCHED_IDLE`: it runs only when a CPU would otherwise idle.
#[cfg(target_os = "linux")]
fn run_only_when_idle() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param for the call's duration; pid 0 is this thread.
    // A refusal leaves the thread at its normal priority, which is only slower for others.
    unsafe {
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
    }
}

#[cfg(not(target_os = "linux"))]
fn run_only_when_idle() {}

struct Inner {
    /// The quoted `ETag`: the client's version, as socket.io sends its own version.
    etag: String,
    files: HashMap<&'static str, File>,
}

/// The client files a server serves; cheap to clone.
#[derive(Clone)]
pub struct ClientFiles {
    inner: Arc<Inner>,
}

/// What a request for a client file is answered with.
pub(crate) struct ClientFile {
    pub(crate) body: Bytes,
    pub(crate) encoding: Encoding,
    pub(crate) content_type: &'static str,
}

/// Files already loaded in this process, by folder and version. Kept for the process's life
/// (about 2 MB for socket.io-client's files, compressed forms included), so servers created
/// one after another do not compress them again.
type LoadedFolders = Mutex<Vec<(PathBuf, String, Arc<Inner>)>>;

fn loaded_folders() -> &'static LoadedFolders {
    static LOADED: OnceLock<LoadedFolders> = OnceLock::new();
    LOADED.get_or_init(|| Mutex::new(Vec::new()))
}

impl ClientFiles {
    /// The files of socket.io-client's `dist` folder `dir`, of client version `version` (the
    /// `ETag`). Files the folder lacks (older clients have no ESM build) are not served.
    pub fn from_dist(dir: impl AsRef<Path>, version: &str) -> std::io::Result<ClientFiles> {
        let dir = dir.as_ref();
        let key = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let mut loaded = loaded_folders()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, _, inner)) = loaded.iter().find(|(d, v, _)| *d == key && v == version) {
            return Ok(ClientFiles {
                inner: inner.clone(),
            });
        }
        let mut files = HashMap::new();
        for name in CLIENT_FILES {
            match std::fs::read(key.join(name)) {
                Ok(bytes) => {
                    files.insert(name, Bytes::from(bytes));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if files.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "no socket.io client file (socket.io.js, socket.io.min.js, …) in {}",
                    key.display()
                ),
            ));
        }
        let files = ClientFiles::start(format!("\"{version}\""), files);
        loaded.push((key, version.to_string(), files.inner.clone()));
        Ok(files)
    }

    /// One bundle, served as `socket.io.js` and `socket.io.min.js`; its `ETag` is a hash of
    /// its bytes.
    pub fn from_bundle(bundle: Bytes) -> ClientFiles {
        let etag = format!("\"{:016x}\"", fnv1a(&bundle));
        let files = HashMap::from([
            ("socket.io.js", bundle.clone()),
            ("socket.io.min.js", bundle),
        ]);
        ClientFiles::start(etag, files)
    }

    fn start(etag: String, files: HashMap<&'static str, Bytes>) -> ClientFiles {
        let files = files.into_iter().map(|(n, b)| (n, File::new(b))).collect();
        let inner = Arc::new(Inner { etag, files });
        let worker = inner.clone();
        // Without the thread, each form is compressed by the first request that asks for it.
        let _ = std::thread::Builder::new()
            .name("roomcast-client-files".into())
            .spawn(move || {
                // The bundles before their source maps, which only developer tools fetch.
                let (maps, bundles): (Vec<&str>, Vec<&str>) =
                    CLIENT_FILES.iter().partition(|n| n.ends_with(".map"));
                run_only_when_idle();
                for name in bundles.into_iter().chain(maps) {
                    if let Some(file) = worker.files.get(name) {
                        file.precompress();
                    }
                }
            });
        ClientFiles { inner }
    }

    /// The quoted `ETag` every file is served with.
    pub fn etag(&self) -> &str {
        &self.inner.etag
    }

    /// Whether `name` (a path relative to the Socket.IO path) is a served file.
    pub fn contains(&self, name: &str) -> bool {
        self.inner.files.contains_key(name)
    }

    /// Whether `If-None-Match` names this version (strong or weak), as socket.io compares.
    pub(crate) fn not_modified(&self, if_none_match: Option<&[u8]>) -> bool {
        let Some(tag) = if_none_match else {
            return false;
        };
        let etag = self.inner.etag.as_bytes();
        tag == etag || tag.strip_prefix(b"W/") == Some(etag)
    }

    /// The body for `name` in the encoding `accept_encoding` prefers.
    pub(crate) fn get(&self, name: &str, accept_encoding: Option<&str>) -> Option<ClientFile> {
        let (&name, file) = self.inner.files.get_key_value(name)?;
        let content_type = if name.ends_with(".map") {
            "application/json; charset=utf-8"
        } else {
            "application/javascript; charset=utf-8"
        };
        let encoding = negotiate(accept_encoding);
        Some(ClientFile {
            body: file.body(encoding),
            encoding,
            content_type,
        })
    }
}

impl std::fmt::Debug for ClientFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.inner.files.keys().copied().collect();
        names.sort_unstable();
        f.debug_struct("ClientFiles")
            .field("etag", &self.inner.etag)
            .field("files", &names)
            .finish()
    }
}

/// zlib's default level, which Node's `createGzip` / `createDeflate` use.
fn level() -> flate2::Compression {
    flate2::Compression::new(6)
}

trait Finish: std::io::Write {
    fn finish_into(self) -> std::io::Result<Vec<u8>>;
}

impl Finish for GzEncoder<Vec<u8>> {
    fn finish_into(self) -> std::io::Result<Vec<u8>> {
        self.finish()
    }
}

impl Finish for ZlibEncoder<Vec<u8>> {
    fn finish_into(self) -> std::io::Result<Vec<u8>> {
        self.finish()
    }
}

/// Writing into a `Vec` cannot fail; the empty body is never reached.
fn zlib_stream(mut encoder: impl Finish, bytes: &[u8]) -> Bytes {
    match encoder.write_all(bytes) {
        Ok(()) => encoder.finish_into().map(Bytes::from).unwrap_or_default(),
        Err(_) => Bytes::new(),
    }
}

/// Quality 6 (see the module's doc) and a 4 MiB window, as Node's `createBrotliCompress`.
fn brotli(bytes: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(bytes.len() / 4);
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 6, 22);
        if writer.write_all(bytes).is_err() {
            return Bytes::new();
        }
    }
    Bytes::from(out)
}

/// FNV-1a: a stable hash for the `ETag` of a bundle given as bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn negotiates_as_socket_io() {
        assert_eq!(negotiate(None), Encoding::Identity);
        assert_eq!(negotiate(Some("")), Encoding::Identity);
        assert_eq!(negotiate(Some("identity")), Encoding::Identity);
        assert_eq!(negotiate(Some("br")), Encoding::Br);
        // The header's order decides between equal qualities.
        assert_eq!(negotiate(Some("gzip, deflate, br")), Encoding::Gzip);
        assert_eq!(negotiate(Some("deflate, gzip")), Encoding::Deflate);
        assert_eq!(negotiate(Some("gzip;q=0.5, br;q=0.8")), Encoding::Br);
        assert_eq!(negotiate(Some("br;q=0, gzip")), Encoding::Gzip);
        // `*` offers br first; an exact entry wins over `*` for its own name.
        assert_eq!(negotiate(Some("*")), Encoding::Br);
        assert_eq!(negotiate(Some("*, br;q=0")), Encoding::Gzip);
        assert_eq!(negotiate(Some("compress, zstd")), Encoding::Identity);
    }

    #[test]
    fn a_bundle_is_served_compressed_and_tagged() {
        let text = "console.log('hello');".repeat(100);
        let files = ClientFiles::from_bundle(Bytes::from(text.clone()));
        assert!(files.contains("socket.io.min.js") && !files.contains("socket.io.js.map"));
        assert!(files.not_modified(Some(files.etag().as_bytes())));
        let weak = format!("W/{}", files.etag());
        assert!(files.not_modified(Some(weak.as_bytes())));
        assert!(!files.not_modified(Some(b"\"other\"")));

        let gz = files.get("socket.io.js", Some("gzip")).unwrap();
        assert_eq!(gz.encoding, Encoding::Gzip);
        let mut plain = String::new();
        flate2::read::GzDecoder::new(&gz.body[..])
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, text);

        let br = files.get("socket.io.js", Some("br")).unwrap();
        let mut plain = String::new();
        brotli::Decompressor::new(&br.body[..], 4096)
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, text);
        assert!(files.get("socket.io.esm.min.js", None).is_none());
    }
}
