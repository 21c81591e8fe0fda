/* probe_fixture.h — fixtures for the probe tests: runs tests/ref/probe_ref.py (the
 * scikit-learn / NumPy twin) into a temporary safetensors file and loads it into an
 * lgp_record (the record owns the data; lgp_record_free releases it). The script is
 * found at $LGP_SRC/tests/ref/probe_ref.py, else relative to the current folder (make
 * check runs from the repository root); Python is $PYTHON or /usr/bin/python3. */
#ifndef LGP_TEST_PROBE_FIXTURE_H
#define LGP_TEST_PROBE_FIXTURE_H

#include "formats/safetensors.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 0 on success; -1 (with a TAP comment) when Python, NumPy or scikit-learn is missing. */
static int fx_make(lgp_record *rec, const char *what) {
    const char *py = getenv("PYTHON") ? getenv("PYTHON") : "/usr/bin/python3";
    const char *src = getenv("LGP_SRC") ? getenv("LGP_SRC") : ".";
    char script[1024], dir[] = "/tmp/lgp-probe-fx.XXXXXX", path[1100], cmd[4096], err[512];
    snprintf(script, sizeof script, "%s/tests/ref/probe_ref.py", src);
    if (access(script, R_OK) != 0 || !mkdtemp(dir)) {
        printf("# fixture: %s not found\n", script);
        return -1;
    }
    snprintf(path, sizeof path, "%s/fx.safetensors", dir);
    snprintf(cmd, sizeof cmd, "'%s' '%s' %s '%s'", py, script, what, path);
    int rc = system(cmd);
    int ok_ = rc == 0 && lgp_st_load(path, rec, NULL, err, sizeof err) == LGP_OK;
    if (rc == 0 && !ok_) printf("# fixture: %s\n", err);
    if (rc != 0) printf("# fixture: '%s' failed (exit %d)\n", cmd, rc);
    unlink(path);
    rmdir(dir);
    return ok_ ? 0 : -1;
}

static const lgp_tensor *fx_get(const lgp_record *rec, const char *name) {
    const lgp_tensor *t = lgp_record_get(rec, name);
    if (!t) {
        printf("Bail out! fixture has no tensor '%s'\n", name);
        exit(1);
    }
    return t;
}

static const float *fx_f32(const lgp_record *rec, const char *name) {
    const lgp_tensor *t = fx_get(rec, name);
    if (t->dtype != LGP_DT_F32) {
        printf("Bail out! fixture tensor '%s' is not f32\n", name);
        exit(1);
    }
    return (const float *)t->data;
}

/* An i64 tensor as a malloc'd int32 array; *n gets its element count. */
static int32_t *fx_labels(const lgp_record *rec, const char *name, size_t *n) {
    const lgp_tensor *t = fx_get(rec, name);
    size_t m = t->nbytes / 8;
    int32_t *y = malloc((m ? m : 1) * sizeof *y);
    for (size_t i = 0; i < m; i++) {
        int64_t v;
        memcpy(&v, (const char *)t->data + 8 * i, 8);
        y[i] = (int32_t)v;
    }
    if (n) *n = m;
    return y;
}

static double fx_num(const lgp_record *rec, const char *name) {
    const lgp_tensor *t = fx_get(rec, name);
    if (t->dtype == LGP_DT_F64) return ((const double *)t->data)[0];
    int64_t v;
    memcpy(&v, t->data, 8);
    return (double)v;
}

#endif
