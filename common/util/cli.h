/* cli.h — output options shared by every program that writes a stream:
 * -o FILE (atomic), --uncompressed, --level N, --zstd-threads N, --force. */
#ifndef LGP_CLI_H
#define LGP_CLI_H

#include <getopt.h>

#include "formats/stream.h"

typedef struct {
    const char *path;   /* NULL: stdout */
    lgp_writer_opts w;
    int force;
} lgp_output_opts;

enum { LGP_OPT_UNCOMPRESSED = 0x3001, LGP_OPT_LEVEL, LGP_OPT_ZSTD_THREADS, LGP_OPT_FORCE };
#define LGP_OUTPUT_LONGOPTS                                                            \
    {"output", required_argument, 0, 'o'},                                             \
    {"uncompressed", no_argument, 0, LGP_OPT_UNCOMPRESSED},                            \
    {"level", required_argument, 0, LGP_OPT_LEVEL},                                    \
    {"zstd-threads", required_argument, 0, LGP_OPT_ZSTD_THREADS},                      \
    {"force", no_argument, 0, LGP_OPT_FORCE}
#define LGP_OUTPUT_HELP                                                                \
    "  -o, --output FILE      write to FILE (temporary, fsync, rename) instead of stdout\n" \
    "  --uncompressed         raw stream instead of zstd\n"                             \
    "  --level N              zstd level (default 1)\n"                                 \
    "  --zstd-threads N       zstd worker threads (default 0: compress inline)\n"       \
    "  --force                write binary data even to a terminal\n"

void lgp_output_opts_init(lgp_output_opts *o);
/* Handles one getopt code; returns 1 if it was an output option. */
int lgp_output_opt(lgp_output_opts *o, int c, const char *arg);
/* Opens the writer (dies with a message on failure, refuses a terminal). */
lgp_writer *lgp_output_open(const lgp_output_opts *o, const char *meta_json);
/* Checks -o before any work: stdout must not be a terminal (without --force), a file
 * must pass lgp_output_check_path. */
void lgp_output_precheck(const lgp_output_opts *o);
/* Output paths are checked before any work, so a long run does not discover at the end
 * that it cannot write. Both return quietly for NULL (option not given); an empty name is
 * a usage error ("prog: FLAG: empty file name", exit 2); anything unusable dies with
 * "prog: PATH: cannot write: reason" and exit 1.
 * lgp_output_check_path: a file that lgp_atomic_open (or fopen for a log) can write:
 * a new name in a writable folder, a writable regular file (or a symlink to one), a
 * device or FIFO, /dev/stdout or /dev/fd/N open for writing; not a folder, a read-only
 * file or folder, a missing parent folder.
 * lgp_output_check_dir: a folder that exists and is writable, or can be created (one
 * level, like --checkpoint-dir: its parent exists and is writable). */
void lgp_output_check_path(const char *flag, const char *path);
void lgp_output_check_dir(const char *flag, const char *dir);
/* Finishes (end record, flush, commit); dies with exit 1 on failure. */
void lgp_output_close(lgp_writer *w);
/* Writes a record; dies on failure. */
void lgp_output_write(lgp_writer *w, const lgp_record *rec);

#endif
