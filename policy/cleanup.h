/* One idiom for releasing what a function holds, on every exit path (systemd's): a variable
 * declared _cleanup_free_ or _cleanup_close_ is freed or closed when it goes out of scope;
 * TAKE_PTR and TAKE_FD hand it over to the caller instead. */
#pragma once

#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}

static inline void cleanup_closep(const int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(cleanup_freep)
#define _cleanup_close_ _cleanup_(cleanup_closep)

/* The value, leaving NULL (or -1) behind so that the cleanup does nothing. */
#define TAKE_PTR(p)                                                                        \
	__extension__({                                                                    \
		__typeof__(p) taken_ = (p);                                                \
		(p) = NULL;                                                                \
		taken_;                                                                    \
	})
#define TAKE_FD(fd)                                                                        \
	__extension__({                                                                    \
		int taken_ = (fd);                                                         \
		(fd) = -1;                                                                 \
		taken_;                                                                    \
	})
