/* The pseudo filesystems PID 1 needs before anything else. */
#pragma once

/* Mounts devtmpfs, proc, sysfs and securityfs; 0 or -errno (message logged). */
int mounts_pseudo_filesystems(void);
