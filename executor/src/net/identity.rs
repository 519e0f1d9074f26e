//! A peer's stable identity: an ed25519 key pair kept in a key file, created
//! on first start, and the platform's usual folders for it.

use std::path::{Path, PathBuf};

use libp2p::identity::Keypair;

/// Reads the key pair at `path`, or creates it (and its folder) when the
/// file does not exist. The file holds the protobuf encoding libp2p uses;
/// on Unix it is readable by its owner only.
pub fn load_or_create(path: &Path) -> Result<Keypair, String> {
    match std::fs::read(path) {
        Ok(bytes) => Keypair::from_protobuf_encoding(&bytes).map_err(|error| {
            format!(
                "{} is not a flowc identity key: {error}; move it away to create a new one",
                path.display()
            )
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let keypair = Keypair::generate_ed25519();
            let bytes = keypair
                .to_protobuf_encoding()
                .map_err(|error| format!("cannot encode a new identity key: {error}"))?;
            if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(folder)
                    .map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
            }
            write_private(path, &bytes)
                .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
            Ok(keypair)
        }
        Err(error) => Err(format!("cannot read {}: {error}", path.display())),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)
}

/// Where `flowc peer` keeps its identity when `--identity` is not given:
/// `%APPDATA%\flowc\identity.key` on Windows, `$XDG_CONFIG_HOME/flowc` or
/// `~/.config/flowc` elsewhere.
pub fn default_identity_path() -> Option<PathBuf> {
    let base = if cfg!(windows) {
        std::env::var_os("APPDATA").map(PathBuf::from)
    } else {
        std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
    };
    base.map(|b| b.join("flowc").join("identity.key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_created_once_and_read_back() {
        let folder =
            std::env::temp_dir().join(format!("flowc-identity-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        let path = folder.join("nested").join("identity.key");
        let first = load_or_create(&path).unwrap();
        let second = load_or_create(&path).unwrap();
        assert_eq!(first.public().to_peer_id(), second.public().to_peer_id());
        std::fs::write(&path, b"not a key").unwrap();
        let error = load_or_create(&path).unwrap_err();
        assert!(error.contains("not a flowc identity key"), "{error}");
        let _ = std::fs::remove_dir_all(&folder);
    }
}
