/* tarindex.h — where every member's data sits in a plain tar or a zip file, for
 * pread(), and which files a directory holds.
 *
 * lgp_tarindex_build walks the headers of an uncompressed tar on disk (never the member
 * data) and lists each regular file with the absolute byte offset of its data, so the
 * caller can read members in any order. A regular member whose name ends in ".tar" (the
 * rule of lgp_archive_classify, so ".TAR" too) is an inner tar, walked in place: its
 * own members are listed instead of it, with offsets into the outer file and `inner` set
 * to its stem (ImageNet's train tar: "n01440764.tar" -> inner "n01440764"). One level
 * only, as lgp_archive_open(LGP_ARCHIVE_NESTED): a tar inside an inner tar is listed as
 * a member. Names, sizes and order are those formats/archive.h returns for the file
 * (tests/unit/test_tarindex.c checks this on every fixture it can), except: names past
 * 4095 bytes (archive.c cuts them, here they are whole), members over 1 GiB (archive.c
 * refuses them, here they are listed), type flags no tar writer uses for files ('S'
 * sparse, 'M', 'N', unknown letters: libarchive returns them as files, here they are
 * skipped), pax hard links with a body (skipped with no data here), and damage:
 * a bad header checksum is LGP_FATAL in the outer tar and damage in an inner one here
 * (libarchive resyncs past it silently, losing members), and a truncated member of an
 * inner tar damages only that inner tar here (LGP_FATAL for the whole file in
 * archive.c).
 *
 * Tar, field by field (POSIX ustar; GNU and pax extensions):
 *   a file is 512-byte blocks; each entry is one header block, then its data padded to
 *   512; the archive ends at an all-zero block (or at the end of the file, on a block
 *   boundary). Header: name[100] @0, size[12] @124 (octal ASCII, or GNU base-256 when
 *   the first byte's high bit is set), chksum[8] @148 (octal; the sum of the header's
 *   bytes, unsigned or signed, with chksum counted as spaces), typeflag @156,
 *   magic[8] @257 ("ustar\0" "00": prefix[155] @345 goes before the name with a '/';
 *   "ustar  \0" is GNU, whose prefix area holds other fields).
 *   typeflag '0', '\0', '7': regular file (a name ending in '/' makes it a directory
 *   with no data); 'L': the data is the next entry's name (GNU); 'K': a long link name;
 *   'x'/'X': pax records "LEN key=value\n" for the next entry ("path" replaces its
 *   name, "size" its size); 'g': global pax records (not applied); '1'..'6' (links,
 *   devices, directories) have no data whatever their size field says, as in
 *   libarchive and Python's tarfile; any other type is skipped with its data.
 * A leading "./" is dropped from names, as formats/archive.c does.
 *
 * Cost: one pread of at most LGP_TARINDEX_WINDOW bytes per header block (none when the
 * header is in the bytes read for the previous one), plus pax/long-name payloads,
 * capped at LGP_TARINDEX_MAX_META bytes. Two strings are allocated per member.
 *
 * A zip is listed from its central directory (ix->zip = 1): the End Of Central
 * Directory record (the last "PK\5\6" in the file's last 64 KiB + 22 bytes: when that
 * one does not hold up, libarchive streams the file, and LGP_EOF says to; with its
 * ZIP64 locator and record when present, for more than 65535 entries or offsets past
 * 4 GiB), then one 46-byte entry per member (sizes, method, flags and local header
 * offset; ZIP64 extra field 0x0001 where a field is saturated), then each member's
 * local header, whose name and extra lengths may differ from the central directory's:
 * the data starts at local header offset + 30 + name length + extra length. The entries are those libarchive's seekable zip reader returns, as
 * formats/archive.c sees them (tests/unit/test_tarindex.c compares both): in local
 * header offset order (a second entry at an offset already listed is dropped), named by
 * the local header (the Info-ZIP Unicode Path field 0x7075 replaces the name when its
 * CRC matches; bytes as they are, cut at a NUL; a name with no '/' whose local header
 * says MS-DOS has its '\' made '/' when all its bytes are ASCII; a leading "./"
 * dropped), regular files only: directories (a name ending in '/', the MS-DOS
 * directory bit, a Unix mode of a directory), symlinks and other Unix file types are
 * skipped, and so is an entry whose name is UTF-8 (general purpose bit 11, or field
 * 0x7075) with a byte past 127: libarchive cannot name it in the C locale, and
 * archive.c skips it. Data lying before the central directory's recorded offset (a
 * self-extracting stub) shifts every offset, as in libarchive. A member is STORED
 * (method 0: csize == size bytes at offset, as they are) or DEFLATE (method 8: csize
 * bytes of raw deflate at offset, lgp_tarindex_read inflates them to size bytes). A
 * member named *.tar is an inner tar walked in place when stored, as in a tar.
 * LGP_EOF (stream the file instead, err names the member): an encrypted member
 * (general purpose bit 0 or 6), another method (bzip2, LZMA, zstd, ...), a deflated
 * inner tar, a multi-volume zip, a zip with no usable end record. LGP_FATAL (err
 * names the byte): a central directory that is not where its end record puts it, whose
 * entries do not parse or number other than the end record says (modulo 65536 without
 * ZIP64), a local header missing or disagreeing with its entry (method, sizes), a
 * member running past the end of the file, a stored member whose sizes differ. Cost: the end record, the central directory (read in 1 MiB pieces) and
 * one local header per entry (one pread of at most LGP_TARINDEX_WINDOW bytes, none when
 * it is in the bytes read for the previous one); the entries are sorted once.
 *
 * A directory is listed instead of walked (ix->dir = 1): its regular files, recursively,
 * each as an entry {name = the path relative to the directory ("cat/1.jpg", never a
 * leading "./"), inner = NULL, offset = 0, size, mtime_ns}, in byte-wise (strcmp) order
 * of the names, so "cat/1.jpg" < "cat/2.jpg" < "dog/1.jpg" whatever readdir returns.
 * Names starting with '.' (hidden files and folders, at any depth) are skipped; a
 * symlink to a regular file is followed (listed under its own name, the target's size),
 * one to a folder or anything else is skipped; a symlink whose target cannot be stat'ed
 * (dangling, no permission) is listed with size 0, so whoever reads it says why. Other
 * non-regular entries are skipped. A ".tar" in a folder is an ordinary entry (no
 * descent). A folder that cannot be read, the root included, is LGP_FATAL naming it.
 * formats/archive.h iterates this list for a directory, so both agree on names and
 * order. Cost: one readdir pass and one stat per entry (two for a symlink); no file is
 * opened.
 *
 * Ownership: lgp_tarindex_build fills a caller-owned lgp_tarindex (it need not be
 * initialised); lgp_tarindex_free releases it, its entries and their strings, and
 * leaves it empty. Library code: returns LGP_OK, LGP_EOF or LGP_FATAL (below), with a
 * one-line message in err. */
#ifndef LGP_TARINDEX_H
#define LGP_TARINDEX_H

#include <stddef.h>
#include <stdint.h>

#define LGP_TARINDEX_WINDOW 4096             /* bytes read at a header */
#define LGP_TARINDEX_MAX_META ((size_t)1 << 20) /* a pax or 'L' payload past 1 MiB is damage */

enum { LGP_TARENT_STORED = 0, LGP_TARENT_DEFLATE = 8 }; /* lgp_tarent.method: zip's numbers */

typedef struct {
    char *name;      /* member path inside its (inner) tar, owned */
    char *inner;     /* stem of the enclosing inner tar ("n01440764"), owned, or NULL */
    uint64_t offset; /* absolute byte offset of the member's data in the file */
    uint64_t size;   /* data bytes (a deflated zip member: once inflated) */
    uint64_t csize;  /* bytes at offset: size, or the raw deflate stream's length */
    int method;      /* LGP_TARENT_STORED (tars, folders, stored zip members) or _DEFLATE */
    int64_t mtime_ns; /* directory listing: the file's mtime, ns since 1970 (the link's
                         own for an unresolvable symlink); 0 in a tar or zip */
} lgp_tarent;

typedef struct {
    lgp_tarent *v;   /* [n] in file order (a directory: sorted by name), owned */
    size_t n, cap;
    int dir;         /* 1: a directory listing (names relative to it, offsets 0) */
    int zip;         /* 1: a zip's members (method and csize say how each is stored) */
    size_t n_inner;  /* inner tars walked, damaged ones included */
    size_t bad_inner; /* damaged inner tars: their members before the damage are listed,
                         the rest of each is skipped and the walk goes on after it */
    char *bad_first; /* one-line message about the first damaged inner tar, owned, or
                        NULL: "train.tar: n0144.tar: byte 5120: bad header checksum" */
} lgp_tarindex;

/* LGP_OK: ix filled in file order (an empty tar gives n == 0), a zip's members in
 * local header order (ix->zip = 1), or the listing of a directory (ix->dir = 1).
 * LGP_EOF: the file cannot be indexed in place, ix is empty and the caller streams it
 * instead: neither a regular file nor a directory (a pipe, a device), shorter than one
 * block and no zip, compressed (gzip, bzip2, xz, zstd, lz4, lzip, compress magic), a
 * first block that is no valid tar header in a file with no zip end record, an inner
 * tar that is compressed (libarchive would decompress it), or a zip that cannot be
 * (above: "PK\3\4" at byte 0 with no end record, an encrypted member, another
 * method, ...). LGP_FATAL: the file cannot be opened or read, is out of memory, or the
 * outer tar or the zip is damaged (bad header checksum, bad size or pax record,
 * truncated; a zip as above), or a folder of a directory cannot be read; ix is empty,
 * and err names the path and the byte offset (a folder: its path). err also says why on
 * LGP_EOF. */
int lgp_tarindex_build(lgp_tarindex *ix, const char *path, char *err, size_t errlen);
void lgp_tarindex_free(lgp_tarindex *ix);

/* A member's bytes into dst[size], from fd, the file it was indexed in: size bytes at
 * offset (LGP_TARENT_STORED), or csize bytes at offset inflated as raw deflate to
 * exactly size bytes (LGP_TARENT_DEFLATE). LGP_OK, or LGP_FATAL with a one-line reason
 * in err ("unexpected end of file at byte N", a read error, "bad deflate data at byte
 * N: why", "deflate data ends at N of SIZE bytes"): the file changed since, or is
 * damaged. One pread for a stored member; a deflated one is read in pieces of at most
 * 1 MiB. */
int lgp_tarindex_read(int fd, uint64_t offset, uint64_t size, uint64_t csize, int method, uint8_t *dst, char *err,
                      size_t errlen);

#endif
