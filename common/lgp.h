/* lgp.h — project-wide constants: return codes of library functions, exit codes of
 * programs, and the always-on assertion for broken invariants.
 *
 * Library code (common/, formats/) never exits on bad input: it returns one of the
 * LGP_* codes below and fills a message. Programs (bin/) choose the policy and map
 * the outcome onto the three exit codes. */
#ifndef LGP_LGP_H
#define LGP_LGP_H

#include <stdio.h>
#include <stdlib.h>

#define LGP_VERSION "0.1.0"

/* Return codes of library functions. */
enum {
    LGP_OK = 0,          /* success */
    LGP_EOF = 1,         /* clean end of input (end record seen) */
    LGP_BAD_RECORD = -1, /* this record is unusable; the stream can continue */
    LGP_FATAL = -2,      /* the stream/file is unusable from here on */
    LGP_USAGE = -3,      /* the request contradicts what it applies to: a usage error (exit 2) */
};

/* Exit codes, identical for every program (see every man page's EXIT STATUS). */
enum {
    LGP_EXIT_OK = 0,      /* success; skipped records are counted on stderr */
    LGP_EXIT_FAILURE = 1, /* bad or truncated input, corrupt checkpoint, write error */
    LGP_EXIT_USAGE = 2,   /* bad command line */
};

/* A broken invariant is a programming error: stays on in release builds. */
#define LGP_ASSERT(x)                                                              \
    do {                                                                           \
        if (!(x)) {                                                                \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #x); \
            abort();                                                               \
        }                                                                          \
    } while (0)

#define LGP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A hot loop of a portable build (make's default): GCC compiles it for x86-64-v4
 * (AVX-512), v3 (AVX2, FMA) and the baseline, and the loader picks the best the CPU
 * has (function multi-versioning; OpenMP bodies are cloned with it). Nothing with
 * NATIVE=1 (all code already targets this CPU), clang or another architecture. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(LGP_NATIVE)
#define LGP_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LGP_HOT
#endif

#endif
