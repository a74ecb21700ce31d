// WASI preview 1 cannot report file-system capacity, and wasi-libc has no
// <sys/statvfs.h>. extmod's POSIX VFS only needs the type and the call, so
// the port declares them and `os.statvfs()` raises OSError(ENOTSUP).
#ifndef MPWASM_SYS_STATVFS_H
#define MPWASM_SYS_STATVFS_H

struct statvfs {
    unsigned long f_bsize, f_frsize;
    unsigned long long f_blocks, f_bfree, f_bavail, f_files, f_ffree, f_favail;
    unsigned long f_fsid, f_flag, f_namemax;
};

int statvfs(const char *path, struct statvfs *buf);

#endif
