/* cli.h — output options shared by every program that writes a stream:
 * -o FILE (atomic), --uncompressed, --level N, --zstd-threads N, --force. */
#ifndef LGP_CLI_H
#define LGP_CLI_H

#include <getopt.h>

#include "../formats/stream.h"

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
    "  --level N              zstd level (default 3)\n"                                 \
    "  --zstd-threads N       zstd worker threads (default 0: compress inline)\n"       \
    "  --force                write binary data even to a terminal\n"

void lgp_output_opts_init(lgp_output_opts *o);
/* Handles one getopt code; returns 1 if it was an output option. */
int lgp_output_opt(lgp_output_opts *o, int c, const char *arg);
/* Opens the writer (dies with a message on failure, refuses a terminal). */
lgp_writer *lgp_output_open(const lgp_output_opts *o, const char *meta_json);
/* Dies now (exit 1) if the -o file's folder cannot take a new file, so a long run does
 * not discover it at the end. */
void lgp_output_precheck(const lgp_output_opts *o);
/* Finishes (end record, flush, commit); dies with exit 1 on failure. */
void lgp_output_close(lgp_writer *w);
/* Writes a record; dies on failure. */
void lgp_output_write(lgp_writer *w, const lgp_record *rec);

#endif
