/* Elementwise steps of the GRU family and the Elman RNN, forward and backward, for one
 * scalar type (included twice by cells.c, see lstm.h for the conventions: K trials of B
 * rows, row b of trial k of a buffer at  base + k * ks + b * rs, blocks of N units).
 *
 * Reset after (torch's and cuDNN's GRU): a = W x + b holds r, z, n; rh = R h' the same.
 *   r = σ(a_r + rh_r)  z = σ(a_z + rh_z)  hn = rh_n + b_Rh  n = tanh(a_n + r hn)
 *   h = n + z (h' - n)
 * Reset before (Cho et al.'s GRU, MUT1-3): a holds z, r, h at block offsets oz, or, oh;
 *   z = σ(a_z + rz)  r = σ(a_r + rr)  s = r h'        (first kernel, then rh = R_h s)
 *   c = tanh(a_h + rh)  h = h' + z (c - h')           (second kernel)
 * where rz and rr are what the caller's products give (rz reads zeros for MUT1, whose
 * update gate has no recurrent input; for MUT3 it is R_z tanh(h'), and the second kernel
 * also keeps tanh(h) for the next step). Elman: h = tanh(a + rh).
 */

#define ROW(ptr, layout, k, b) ((ptr) + (long)(k) * s->layout##_ks + (long)(b) * s->layout##_rs)
#define SIGM CAT(sigm, SUFFIX)

/* --- reset after ----------------------------------------------------------------------- */

/* gates: [r, z, n, hn] per row (kept for the backward); h: the new state */
void CAT(gru_forward, SUFFIX)(const struct gru_step *s, const REAL *a, const REAL *rh,
                              const REAL *hp, REAL *gates, REAL *h) {
    const int N = s->n;
    FOR_ROWS(s, N) {
        const int k = kb / s->b, b = kb % s->b;
        const REAL *bias = (const REAL *)s->bias + (long)k * N;
        const REAL *ar = ROW(a, a, k, b), *rr = ROW(rh, rh, k, b);
        const REAL *hpr = ROW(hp, h, k, b);
        REAL *gr = ROW(gates, gates, k, b), *hr = ROW(h, h, k, b);
        for (int j = 0; j < 2 * N; j++) gr[j] = SIGM(ar[j] + rr[j]);
        REAL *hn = gr + 3 * N, *nn = gr + 2 * N;
        const REAL *r = gr;
#pragma GCC ivdep
        for (int j = 0; j < N; j++) {
            hn[j] = rr[2 * N + j] + bias[j];
            nn[j] = TANH(ar[2 * N + j] + r[j] * hn[j]);
        }
        const REAL *z = gr + N;
#pragma GCC ivdep
        for (int j = 0; j < N; j++) hr[j] = nn[j] + z[j] * (hpr[j] - nn[j]);
    }
}

/* dh = dmm + ddir + dy is the gradient of this step's h (dmm: the next step's gh R,
 * ddir: its z dh). Writes gx = d(a) = [dr, dz, dn], gh = d(R h') = [dr, dz, r dn] (both
 * pre-activation), and ddir = z dh for the step before (in place). */
void CAT(gru_backward, SUFFIX)(const struct gru_step *s, const REAL *gates, const REAL *hp,
                               const REAL *dmm, REAL *ddir, const REAL *dy, REAL *gx,
                               REAL *gh) {
    const int N = s->n;
    FOR_ROWS(s, N) {
        const int k = kb / s->b, b = kb % s->b;
        const REAL *g = ROW(gates, gates, k, b), *hpr = ROW(hp, h, k, b);
        const REAL *dmr = ROW(dmm, dh, k, b), *dyr = ROW(dy, dy, k, b);
        REAL *ddr = ROW(ddir, dh, k, b);
        REAL *gxr = ROW(gx, g, k, b), *ghr = ROW(gh, g, k, b);
        const REAL *r = g, *z = g + N, *nn = g + 2 * N, *hn = g + 3 * N;
#pragma GCC ivdep
        for (int j = 0; j < N; j++) {
            const REAL dh = dmr[j] + ddr[j] + dyr[j];
            const REAL dn = dh * ((REAL)1 - z[j]) * ((REAL)1 - nn[j] * nn[j]);
            const REAL dz = dh * (hpr[j] - nn[j]) * (z[j] * ((REAL)1 - z[j]));
            const REAL dr = dn * hn[j] * (r[j] * ((REAL)1 - r[j]));
            gxr[j] = dr; gxr[N + j] = dz; gxr[2 * N + j] = dn;
            ghr[j] = dr; ghr[N + j] = dz; ghr[2 * N + j] = dn * r[j];
            ddr[j] = dh * z[j];
        }
    }
}

/* --- reset before ---------------------------------------------------------------------- */

/* gates: [z, r, c] per row; sh: s = r h' (the input of R_h) */
void CAT(reset_gates, SUFFIX)(const struct gru_step *s, const REAL *a, const REAL *rz,
                              const REAL *rr, const REAL *hp, REAL *gates, REAL *sh) {
    const int N = s->n, oz = s->oz * N, or_ = s->or_ * N;
    FOR_ROWS(s, N) {
        const int k = kb / s->b, b = kb % s->b;
        const REAL *ar = ROW(a, a, k, b), *rzr = ROW(rz, rz, k, b);
        const REAL *rrr = ROW(rr, rr, k, b), *hpr = ROW(hp, h, k, b);
        REAL *gr = ROW(gates, gates, k, b), *sr = ROW(sh, sh, k, b);
#pragma GCC ivdep
        for (int j = 0; j < N; j++) {
            gr[j] = SIGM(ar[oz + j] + rzr[j]);
            const REAL r = SIGM(ar[or_ + j] + rrr[j]);
            gr[N + j] = r;
            sr[j] = r * hpr[j];
        }
    }
}

/* th (MUT3): tanh(h) of the new state, the next step's update-gate input; else NULL */
void CAT(reset_state, SUFFIX)(const struct gru_step *s, const REAL *a, const REAL *rh,
                              const REAL *hp, REAL *gates, REAL *h, REAL *th) {
    const int N = s->n, oh = s->oh * N;
    FOR_ROWS(s, N) {
        const int k = kb / s->b, b = kb % s->b;
        const REAL *ar = ROW(a, a, k, b), *rhr = ROW(rh, rh, k, b);
        const REAL *hpr = ROW(hp, h, k, b);
        REAL *gr = ROW(gates, gates, k, b), *hr = ROW(h, h, k, b);
        const REAL *z = gr;
        REAL *c = gr + 2 * N;
#pragma GCC ivdep
        for (int j = 0; j < N; j++) {
            c[j] = TANH(ar[oh + j] + rhr[j]);
            hr[j] = hpr[j] + z[j] * (c[j] - hpr[j]);
        }
        if (th) {
            REAL *thr = ROW(th, h, k, b);
            for (int j = 0; j < N; j++) thr[j] = TANH(hr[j]);
        }
    }
}

/* First half back: dh = dmm + dmz (1 - th²) + ddir + dy is the gradient of this step's h
 * (dmm: the next step's products with R_g, dmz: MUT3's product with R_z, which reaches h
 * through tanh; th: tanh(h), or rows of zeros). Writes gx_z, gx_h (pre-activation) and
 * ddir = (1 - z) dh. */
void CAT(reset_back_state, SUFFIX)(const struct gru_step *s, const REAL *gates,
                                   const REAL *hp, const REAL *dmm, const REAL *dmz,
                                   const REAL *th, REAL *ddir, const REAL *dy, REAL *gx) {
    const int N = s->n, oz = s->oz * N, oh = s->oh * N;
    FOR_ROWS(s, N) {
        const int k = kb / s->b, b = kb % s->b;
        const REAL *g = ROW(gates, gates, k, b), *hpr = ROW(hp, h, k, b);
        const REAL *dmr = ROW(dmm, dh, k, b), *dzr = ROW(dmz, dmz, k, b);
        const REAL *thr = ROW(th, th, k, b), *dyr = ROW(dy, dy, k, b);
        REAL *ddr = ROW(ddir, dh, k, b), *gxr = ROW(gx, g, k, b);
        const REAL *z = g, *c = g + 2 * N;
#pragma GCC ivdep
        for (int j = 0; j < N; j++) {
            const REAL dh = dmr[j] + dzr[j] * ((REAL)1 - thr[j] * thr[j]) + ddr[j] + dyr[j];
            gxr[oz + j] = dh * (c[j] - hpr[j]) * (z[j] * ((REAL)1 - z[j]));
            gxr[oh + j] = dh * z[j] * ((REAL)1 - c[j] * c[j]);
            ddr[j] = dh * ((REAL)1 - z[j]);
        }
    }
}

/* Second half back: ds = (gradient of c's pre-activation) R_h is the gradient of s = r h'.
 * Writes gx_r and adds ds r to ddir. */
void CAT(reset_back_gate, SUFFIX)(const struct gru_step *s, const REAL *gates, const REAL *hp,
                                  const REAL *ds, REAL *ddir, REAL *gx) {
    const int N = s->n, or_ = s->or_ * N;
    FOR_ROWS(s, N) {
        const int k = kb / s->b, b = kb % s->b;
        const REAL *g = ROW(gates, gates, k, b), *hpr = ROW(hp, h, k, b);
        const REAL *dsr = ROW(ds, dh, k, b);
        REAL *ddr = ROW(ddir, dh, k, b), *gxr = ROW(gx, g, k, b);
        const REAL *r = g + N;
#pragma GCC ivdep
        for (int j = 0; j < N; j++) {
            gxr[or_ + j] = dsr[j] * hpr[j] * (r[j] * ((REAL)1 - r[j]));
            ddr[j] += dsr[j] * r[j];
        }
    }
}

/* --- Elman ------------------------------------------------------------------------------ */

void CAT(elman_forward, SUFFIX)(const struct gru_step *s, const REAL *a, const REAL *rh,
                                REAL *h) {
    const int N = s->n;
    FOR_ROWS(s, N) {
        const int k = kb / s->b, b = kb % s->b;
        const REAL *ar = ROW(a, a, k, b), *rr = ROW(rh, rh, k, b);
        REAL *hr = ROW(h, h, k, b);
        for (int j = 0; j < N; j++) hr[j] = TANH(ar[j] + rr[j]);
    }
}

void CAT(elman_backward, SUFFIX)(const struct gru_step *s, const REAL *h, const REAL *dmm,
                                 const REAL *dy, REAL *gx) {
    const int N = s->n;
    FOR_ROWS(s, N) {
        const int k = kb / s->b, b = kb % s->b;
        const REAL *hr = ROW(h, h, k, b), *dmr = ROW(dmm, dh, k, b);
        const REAL *dyr = ROW(dy, dy, k, b);
        REAL *gxr = ROW(gx, g, k, b);
        for (int j = 0; j < N; j++) gxr[j] = (dmr[j] + dyr[j]) * ((REAL)1 - hr[j] * hr[j]);
    }
}

#undef SIGM
#undef ROW
