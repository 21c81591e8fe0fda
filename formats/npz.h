/* npz.h — write NumPy .npz files: what np.savez writes and np.load reads, with no lgp
 * code on the reading side.
 *
 * An .npz is a ZIP archive whose members "<name>.npy" each hold one array in NumPy's
 * .npy format (numpy/lib/format.py), version 1.0:
 *   magic "\x93NUMPY", major u8 (=1), minor u8 (=0), header_len u16 LE,
 *   header: ASCII Python dict "{'descr': '<f4', 'fortran_order': False, 'shape': (N, C), }"
 *           padded with spaces and ended by '\n' so that the data starts at a multiple
 *           of 64 bytes from the start of the member,
 *   data:   numel × itemsize bytes, C order, little-endian as descr says.
 * descr is a NumPy type string: "|u1" "|i1" "<i4" "<i8" "<f2" "<f4" "<f8", or "<U{w}"
 * (w UTF-32LE code units per element, zero-padded: a fixed-width unicode array).
 *
 * ZIP members are stored (method 0, no compression), in the order added, with a fixed
 * 1980-01-01 time stamp (the same arrays give the same bytes) and the CRC-32 (zlib) and
 * sizes in the local header, so no data descriptors are needed. A member or offset at
 * or past 4 GiB, more than 65535 members, or LGP_NPZ_ZIP64 switch on the ZIP64 fields
 * (local and central extra field 0x0001, ZIP64 end record and locator), as Python's
 * zipfile writes and reads them.
 *
 * The file goes through lgp_atomic_open (atomicfile.h): a temporary beside path,
 * fsync'd and renamed by lgp_npz_close, removed by lgp_npz_abort or any failure. An
 * lgp_npz is a heap object: _open, then _close or _abort (both free it). Arrays are
 * borrowed only during the _add call. Errors: LGP_FATAL with "path: problem" in err. */
#ifndef LGP_NPZ_H
#define LGP_NPZ_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

typedef struct lgp_npz lgp_npz;

enum { LGP_NPZ_ZIP64 = 1 }; /* flags of lgp_npz_open: ZIP64 fields on every member */

int lgp_npz_open(lgp_npz **out, const char *path, unsigned flags, char *err, size_t errlen);
/* Member "<name>.npy": an array of shape [shape[0], ..., shape[ndim-1]] (ndim 0: a
 * scalar) of dtype dt (numbers only; see lgp_npz_descr) whose nbytes bytes are data. */
int lgp_npz_add(lgp_npz *z, const char *name, lgp_dtype dt, int ndim, const int64_t *shape,
                const void *data, size_t nbytes, char *err, size_t errlen);
/* Member "<name>.npy": a "<U{w}" array of shape [shape...] (numel strings) whose element
 * i is the UTF-8 text bytes[offs[i] .. offs[i+1]) (offs has numel + 1 entries); w is
 * the longest element in code points (at least 1). Invalid UTF-8 becomes U+FFFD. */
int lgp_npz_add_text(lgp_npz *z, const char *name, int ndim, const int64_t *shape,
                     const char *bytes, const uint64_t *offs, char *err, size_t errlen);
/* Writes the central directory, syncs and renames into place; frees z. */
int lgp_npz_close(lgp_npz *z, char *err, size_t errlen);
/* Removes the temporary; frees z. */
void lgp_npz_abort(lgp_npz *z);
/* NumPy's descr for a numeric lgp dtype ("<f4"), or NULL: bf16 has no NumPy dtype, and
 * text goes through lgp_npz_add_text. */
const char *lgp_npz_descr(lgp_dtype dt);

#endif
