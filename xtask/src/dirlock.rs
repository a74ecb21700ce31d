//! One process at a time in a build folder. Two `cargo xtask` runs at once
//! (two terminals, or tests running in parallel) would otherwise compile the
//! same objects and swap the same temporary files under each other.

use std::fs::{self, File, TryLockError};
use std::path::Path;

use anyhow::{Context, Result};

/// Held while a folder is being built; dropping it lets the next one in.
pub struct DirLock {
    _file: File,
}

/// Waits until no other process builds in `dir`, saying so if it has to.
pub fn lock(dir: &Path) -> Result<DirLock> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(".lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            eprintln!("waiting for another build in {}", dir.display());
            file.lock().with_context(|| format!("locking {}", path.display()))?;
        }
        Err(TryLockError::Error(err)) => return Err(err).with_context(|| format!("locking {}", path.display())),
    }
    Ok(DirLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_waits_for_the_first_to_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock(dir.path()).unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        let path = dir.path().to_path_buf();
        let waiter = std::thread::spawn(move || {
            let _second = lock(&path).unwrap();
            sender.send(()).unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(receiver.try_recv().is_err(), "the second lock was granted while the first was held");
        drop(first);
        receiver.recv_timeout(std::time::Duration::from_secs(10)).expect("the second lock follows the first");
        waiter.join().unwrap();
    }
}
