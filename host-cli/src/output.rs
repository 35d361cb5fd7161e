//! Writing an output file without destroying what its path points at.
//!
//! `meld-host fuse -o PATH` must behave like `cp`, `wasm-tools` and every other
//! Unix tool a user knows, with one improvement for regular files:
//!
//! - a **regular file** (or a path that does not exist yet) is replaced
//!   atomically: the bytes go to a temporary file in the same directory, which
//!   gets the old file's permission bits and is renamed over it only once it
//!   is complete. On any error the old file is untouched and no temporary file
//!   is left behind.
//! - a **symbolic link** is followed to its target first (as `open(2)` does),
//!   and the target is written as above: the link itself stays a link. A
//!   dangling link creates its target.
//! - **anything else**, a character or block device (`/dev/null`, a
//!   terminal), a FIFO, a socket, or an open file descriptor named by path
//!   (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`, as `-o >(cmd)` passes),
//!   is opened and written directly: it is never replaced, renamed or
//!   unlinked.
//!
//! [`write_output`] is the one entry point; [`Target::of`] tells which of the
//! cases a path is, so that the choice can be tested without writing.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// How many symbolic links [`Target::of`] follows before giving up, as the
/// kernel's `ELOOP` limit for path resolution (`MAXSYMLINKS`).
const MAX_SYMLINKS: usize = 40;

/// What writing to a path means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Replace (or create) the regular file at this path, the final target of
    /// any symbolic links, atomically; keep `permissions` when it replaces a
    /// file.
    Replace {
        /// The file to create or replace (symbolic links resolved).
        path: PathBuf,
        /// The permissions of the file it replaces; `None` when creating.
        permissions: Option<Permissions>,
    },
    /// Open this path for writing and write to it in place: a device, a FIFO,
    /// a socket or a file descriptor's path.
    Direct {
        /// The path as given (opening it follows any links).
        path: PathBuf,
        /// Whether the thing opened is a regular file (reached through a
        /// file descriptor's path), which is then truncated as `cp` does.
        truncate: bool,
    },
}

impl Target {
    /// Classifies `path` without changing anything.
    ///
    /// # Errors
    /// When `path` is a directory, when a symbolic link loop is found, or when
    /// the path's metadata cannot be read (other than "not found", which
    /// means a new file).
    pub fn of(path: &Path) -> io::Result<Target> {
        let mut current = path.to_path_buf();
        for _ in 0..=MAX_SYMLINKS {
            if is_descriptor_path(&current) {
                let truncate = fs::metadata(path).map(|m| m.is_file()).unwrap_or(false);
                return Ok(Target::Direct {
                    path: path.to_path_buf(),
                    truncate,
                });
            }
            let meta = match fs::symlink_metadata(&current) {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Ok(Target::Replace {
                        path: current,
                        permissions: None,
                    });
                }
                Err(e) => return Err(e),
            };
            let kind = meta.file_type();
            if kind.is_symlink() {
                let link = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            } else if kind.is_file() {
                return Ok(Target::Replace {
                    path: current,
                    permissions: Some(meta.permissions()),
                });
            } else if kind.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    "is a directory",
                ));
            } else {
                return Ok(Target::Direct {
                    path: path.to_path_buf(),
                    truncate: false,
                });
            }
        }
        Err(io::Error::other("too many levels of symbolic links"))
    }
}

/// Whether `path` names an open file descriptor rather than a file:
/// `/dev/fd/N`, `/dev/stdin|stdout|stderr`, or `/proc/<pid>|self|thread-self/fd/N`.
/// Such links point at pipes, sockets and anonymous files that have no path
/// of their own to resolve, so they are only ever opened.
fn is_descriptor_path(path: &Path) -> bool {
    let parts: Vec<&std::ffi::OsStr> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part),
            _ => None,
        })
        .collect();
    if !path.is_absolute() {
        return false;
    }
    match parts.as_slice() {
        [dev, fd, _] if *dev == "dev" && *fd == "fd" => true,
        [dev, std]
            if *dev == "dev" && matches!(std.to_str(), Some("stdin" | "stdout" | "stderr")) =>
        {
            true
        }
        [proc, _, fd, _] if *proc == "proc" && *fd == "fd" => true,
        _ => false,
    }
}

/// Writes `bytes` to `path` as the module docs describe: atomically for a
/// regular file, directly for a device, FIFO or descriptor path.
///
/// # Errors
/// Any I/O error; for a regular file the old contents are then untouched and
/// no temporary file is left.
pub fn write_output(path: &Path, bytes: &[u8]) -> io::Result<()> {
    match Target::of(path)? {
        Target::Replace { path, permissions } => replace(&path, permissions, bytes),
        Target::Direct { path, truncate } => {
            let mut file = OpenOptions::new()
                .write(true)
                .truncate(truncate)
                .open(path)?;
            file.write_all(bytes)?;
            file.flush()
        }
    }
}

/// Writes `bytes` to a temporary file beside `path`, gives it `permissions`,
/// and renames it over `path`: `path` is either untouched or complete.
fn replace(path: &Path, permissions: Option<Permissions>, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
    let tmp = dir.join(format!(
        ".{}.meld-tmp-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = File::create_new(&tmp)?;
        file.write_all(bytes)?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)?;
        }
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_paths() {
        for p in [
            "/dev/fd/3",
            "/dev/stdout",
            "/dev/stderr",
            "/proc/self/fd/1",
            "/proc/1234/fd/63",
            "/proc/thread-self/fd/0",
        ] {
            assert!(is_descriptor_path(Path::new(p)), "{p}");
        }
        for p in [
            "/dev/null",
            "/dev/fd",
            "dev/fd/3",
            "/tmp/dev/fd/3",
            "/proc/self/fd",
            "/proc/self/maps",
            "out.wasm",
        ] {
            assert!(!is_descriptor_path(Path::new(p)), "{p}");
        }
    }

    #[test]
    fn targets() {
        let dir = std::env::temp_dir().join(format!("meld-output-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let new = dir.join("new.wasm");
        assert_eq!(
            Target::of(&new).unwrap(),
            Target::Replace {
                path: new.clone(),
                permissions: None
            }
        );
        fs::write(&new, b"x").unwrap();
        assert!(matches!(
            Target::of(&new).unwrap(),
            Target::Replace {
                permissions: Some(_),
                ..
            }
        ));
        // A relative link in another directory resolves against the link's
        // directory; a dangling one names its target.
        let sub = dir.join("sub");
        fs::create_dir_all(&sub).unwrap();
        std::os::unix::fs::symlink("../new.wasm", sub.join("link")).unwrap();
        let Target::Replace { path, .. } = Target::of(&sub.join("link")).unwrap() else {
            panic!("a link to a file is replaced at its target");
        };
        assert_eq!(path, sub.join("../new.wasm"));
        std::os::unix::fs::symlink("missing.wasm", dir.join("dangling")).unwrap();
        assert_eq!(
            Target::of(&dir.join("dangling")).unwrap(),
            Target::Replace {
                path: dir.join("missing.wasm"),
                permissions: None
            }
        );
        std::os::unix::fs::symlink("loop", dir.join("loop")).unwrap();
        assert!(Target::of(&dir.join("loop")).is_err());
        assert_eq!(
            Target::of(&dir).unwrap_err().kind(),
            io::ErrorKind::IsADirectory
        );
        assert!(matches!(
            Target::of(Path::new("/dev/null")).unwrap(),
            Target::Direct {
                truncate: false,
                ..
            }
        ));
        fs::remove_dir_all(&dir).unwrap();
    }
}
